/**
 * Fresh loopback source addresses for load generators: 127.0.B.1–250, starting at a random block
 * per run, so a run never meets an earlier run's TIME_WAITs and no address runs out of ports.
 */
let block = 16 + Math.floor(Math.random() * 200);
let host = 1;

/** `count` source addresses nobody in this run used before. */
export function freshAddresses(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    if (host > 250) {
      host = 1;
      block = block >= 250 ? 16 : block + 1;
    }
    out.push(`127.0.${block}.${host++}`);
  }
  return out;
}
