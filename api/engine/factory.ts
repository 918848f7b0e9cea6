/**
 * The engine the API and the workers run: the Pulumi Automation API with the
 * offline planner for previews. One place, so tests can swap in the stand-in
 * engine (`vi.mock` of this module, or `runWorker({ engine })`).
 */
import type { StackLayout } from "../stacks/layout";
import { AutomationEngine } from "./automation";
import { offlinePlanner } from "./plan";
import type { Engine } from "./types";

export function createEngine(layout: StackLayout): Engine {
  return new AutomationEngine({ layout, planner: offlinePlanner });
}
