import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { GalleryBankInput, QueryBankInput } from '../../storage/index.js';
import { withDeadline } from '../plugins/request-timeout.js';
import { CollectionNameParams, ERROR_RESPONSES } from '../schemas/common.js';
import {
  BankInfoOrNullResponseSchema,
  BankInfoResponseSchema,
  BankSideParams,
  BankWaitQuery,
  GalleryBankSchema,
  HubnessQuery,
  HubnessReportResponseSchema,
  HubnessSettingResponseSchema,
  QueryBankSchema,
  UpdateCollectionSchema,
} from '../schemas/hubness.js';
import { ok } from './envelope.js';

/** DBNorm: the collection's hubness setting, its query and gallery banks, and hubness diagnostics. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['hubness'];
  app.patch(
    '/collections/:collection_name',
    {
      schema: {
        tags: ['collections'],
        summary: 'Update collection settings (Strata applies `hubness`)',
        params: CollectionNameParams,
        querystring: BankWaitQuery,
        body: UpdateCollectionSchema,
        response: { 200: HubnessSettingResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const collection = app.db.get(req.params.collection_name);
      const setting = await app.db.hubness.updateSettings(collection, req.body.hubness ?? {}, req.query.wait === true);
      return ok(reply, setting);
    },
  );
  app.put(
    '/collections/:collection_name/banks/query',
    {
      schema: {
        tags,
        summary: 'Set the query bank: given vectors, or a sample of the query log',
        params: CollectionNameParams,
        querystring: BankWaitQuery,
        body: QueryBankSchema,
        response: { 200: BankInfoResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const collection = app.db.get(req.params.collection_name);
      const info = await app.db.hubness.putQueryBank(collection, req.body as QueryBankInput, req.query.wait === true);
      return ok(reply, info);
    },
  );
  app.put(
    '/collections/:collection_name/banks/gallery',
    {
      schema: {
        tags,
        summary: 'Set the gallery bank: given vectors, or a random sample of stored points',
        params: CollectionNameParams,
        querystring: BankWaitQuery,
        body: GalleryBankSchema,
        response: { 200: BankInfoResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const collection = app.db.get(req.params.collection_name);
      const info = await app.db.hubness.putGalleryBank(
        collection,
        req.body as GalleryBankInput,
        req.query.wait === true,
      );
      return ok(reply, info);
    },
  );
  app.get(
    '/collections/:collection_name/banks/:side',
    {
      schema: {
        tags,
        summary: 'A bank: size, provenance, time, and whether its normalizers are in use (null: no bank)',
        params: BankSideParams,
        response: { 200: BankInfoOrNullResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const collection = app.db.get(req.params.collection_name);
      return ok(reply, app.db.hubness.bankInfo(collection, req.params.side));
    },
  );
  app.get(
    '/collections/:collection_name/hubness',
    {
      schema: {
        tags,
        summary: 'Hubness diagnostics: k-occurrence skewness, hub occupancy, largest hubs, with and without rescoring',
        params: CollectionNameParams,
        querystring: HubnessQuery,
        response: { 200: HubnessReportResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const collection = app.db.get(req.params.collection_name);
      const report = await withDeadline(reply, () => app.db.hubness.diagnostics(collection, req.query.k ?? 10));
      return ok(reply, report);
    },
  );
};

export default routes;
