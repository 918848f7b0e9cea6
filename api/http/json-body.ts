/**
 * The only body parser: `application/json`, within the body limit, nested at most
 * `MAX_BODY_DEPTH` levels (checked on the text, before parsing), then parsed by Fastify's own
 * parser (secure-json-parse, refusing `__proto__` and `constructor.prototype` keys). Every other
 * content type is answered 415.
 */
import type { FastifyInstance } from "fastify";
import { exceedsNestingDepth, MAX_BODY_DEPTH } from "./bounded-json";
import { HttpError } from "./errors";

export function registerJsonBodyParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (exceedsNestingDepth(text, MAX_BODY_DEPTH)) {
      done(new HttpError(400, `\`body\`: arrays and objects nest deeper than ${MAX_BODY_DEPTH} levels`, "body"), undefined);
      return;
    }
    parseJson(request, text, done);
  });
}
