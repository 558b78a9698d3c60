/**
 * Handler machines the inspector has drawn, by definition: each machine is drawn once, however
 * many connections run it, and keyed so rows refer to it by a short string.
 */
import type { AnyStateMachine } from "xstate";
import { handlerDiagramSvg, handlerMachineDiagram } from "./handler-diagram.js";
import type { MachineDrawing } from "./protocol.js";

export class MachineDrawings {
  readonly #keys = new WeakMap<AnyStateMachine, string>();
  readonly #drawings = new Map<string, MachineDrawing>();

  /** The key of `machine`'s drawing, drawing it the first time. */
  keyOf(machine: AnyStateMachine): string {
    let key = this.#keys.get(machine);
    if (key === undefined) {
      key = `m${this.#drawings.size + 1}`;
      const diagram = handlerMachineDiagram(machine);
      this.#drawings.set(key, { key, id: machine.id, svg: handlerDiagramSvg(diagram), diagram });
      this.#keys.set(machine, key);
    }
    return key;
  }

  get(key: string): MachineDrawing | undefined {
    return this.#drawings.get(key);
  }
}
