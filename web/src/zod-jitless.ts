/**
 * Imported first by main.tsx, before any module builds a schema: zod compiles object parsers
 * with `new Function` when it may, and probes for it while building each object schema. The
 * page's CSP has no 'unsafe-eval', and even the probe would be reported as a violation.
 */
import { z } from "zod";

z.config({ jitless: true });
