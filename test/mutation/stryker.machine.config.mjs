// @ts-check
import { strykerOptions } from "./stryker.base.mjs";

/** The protocol-machine handler kind: the actor that runs a handler machine, its actions, its state names. */
export default strykerOptions("machine", ["src/handlers/machine.ts", "src/handlers/machine-actions.ts", "src/handlers/machine-state.ts"]);
