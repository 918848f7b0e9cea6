/**
 * Schemas shared by routes: they validate requests, type handlers and make
 * up the OpenAPI document. Every object is strict: unknown fields are refused.
 */
import { z } from "zod";

export const errorBody = z
  .object({
    statusCode: z.number().int(),
    error: z.string(),
    message: z.string().describe("What was wrong, naming the field in backticks"),
    field: z.string().optional().describe("Dotted path of the offending field, e.g. `body.email`"),
    requestId: z.string(),
  })
  .describe("Every error answer");

/** Standard error responses to list in a route's schema. */
export const errorResponses = {
  400: errorBody,
  401: errorBody,
  403: errorBody,
  404: errorBody,
  409: errorBody,
  413: errorBody,
  429: errorBody,
} as const;

export const idParams = z.strictObject({ id: z.string().min(1).max(64) });

export const email = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email("must be an email address").max(254));

export const password = z
  .string()
  .min(12, "must be at least 12 characters")
  .max(1024, "must be at most 1024 characters");

export const bearerSecurity = [{ bearerAuth: [] }];
