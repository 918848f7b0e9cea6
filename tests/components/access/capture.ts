import * as pulumi from "@pulumi/pulumi";

/** One resource registered under the mocks, with its inputs as the component passed them. */
export interface Captured {
  type: string;
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see the comment at the end of the line
  inputs: Record<string, any>; // any: provider inputs differ per resource type; tests read them field by field
}

/**
 * Installs Pulumi mocks that record every registered resource. Call once per
 * test file (each file runs in its own process). `settle` waits until the
 * asynchronous registrations have drained.
 */
export function captureResources(): { resources: Captured[]; settle: () => Promise<Captured[]>; reset: () => void } {
  const resources: Captured[] = [];
  void pulumi.runtime.setMocks(
    {
      newResource(args) {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: { ...args.inputs, arn: `arn:aws:mock:::${args.name}` } };
      },
      call(args) {
        return args.inputs;
      },
    },
    "clawstack",
    "test",
    false,
  );
  const settle = async (): Promise<Captured[]> => {
    let last = -1;
    for (let round = 0; round < 200 && last !== resources.length; round += 1) {
      last = resources.length;
      for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
    }
    return resources;
  };
  return { resources, settle, reset: () => void resources.splice(0, resources.length) };
}

/** Resolves an Output under mocks. */
export function resolve<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((done) => output.apply((value) => done(value)));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see the comment at the end of the line
export function parseJson(value: unknown): any { // any: policy documents are checked field by field
  return typeof value === "string" ? JSON.parse(value) : value;
}
