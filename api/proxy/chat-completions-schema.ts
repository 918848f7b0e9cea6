/**
 * The body of `POST /v1/instances/:id/chat/completions`: an OpenAI chat
 * completion request, checked for shape (strict, so a typo is a 400 naming the
 * field, as everywhere in the API) and then sent to the gateway as parsed.
 * Free-form members (tools, response formats, content parts) are bounded
 * JSON; message text is not restricted beyond the body limit (it is content:
 * never logged, never stored).
 */
import { z } from "zod";
import { boundedJsonObject } from "../http/bounded-json";
import { text } from "../http/schemas";

const contentPart = boundedJsonObject().describe("A content part (`{type: \"text\", text}`, `{type: \"image_url\", ...}`)");

const tool = z.strictObject({
  type: z.literal("function"),
  function: z.strictObject({
    name: text(1, 64),
    description: z.string().max(8192).optional(),
    parameters: boundedJsonObject().optional(),
    strict: z.boolean().optional(),
  }),
});

const toolCall = z.strictObject({
  id: text(1, 256),
  type: z.literal("function"),
  function: z.strictObject({ name: text(1, 64), arguments: z.string() }),
});

const message = z.strictObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.array(contentPart).max(256)]).nullable().optional(),
  name: text(1, 256).optional(),
  tool_call_id: text(1, 256).optional(),
  tool_calls: z.array(toolCall).max(256).optional(),
  refusal: z.string().nullable().optional(),
});

export const chatCompletionBody = z.strictObject({
  model: text(1, 256).describe("`openclaw` (the default agent) or `openclaw/<agent id>`"),
  messages: z.array(message).min(1).max(4096),
  stream: z.boolean().optional().describe("true: server-sent events, passed through chunk by chunk"),
  stream_options: boundedJsonObject().optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  max_tokens: z.number().int().min(1).optional(),
  max_completion_tokens: z.number().int().min(1).optional(),
  stop: z.union([text(1, 256), z.array(text(1, 256)).max(8)]).optional(),
  n: z.number().int().min(1).max(8).optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
  frequency_penalty: z.number().min(-2).max(2).optional(),
  seed: z.number().int().optional(),
  user: text(1, 256).optional(),
  tools: z.array(tool).max(128).optional(),
  tool_choice: z.union([text(1, 64), boundedJsonObject()]).optional(),
  response_format: boundedJsonObject().optional(),
});
