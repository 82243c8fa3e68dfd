// Whether the destinations are spread over the servers as the balancer leaves them: every
// destination has a runner, and no server runs two or more than another (src/server/cluster/
// balancer.ts moves a destination only to a server running at least two fewer, so max - min
// <= 1 is where it stops).

export interface Spread {
  /** Destinations per server address, every server listed (0 when it runs none). */
  perServer: Record<string, number>;
  /** Destinations without a runner (an election or a handover in progress). */
  unassigned: number;
  /** Every destination runs, and max - min over the servers is at most 1. */
  balanced: boolean;
}

/** `runners`: each destination's runner address (undefined: none); `servers`: every server. */
export function spreadOf(runners: Array<string | undefined>, servers: string[]): Spread {
  const perServer: Record<string, number> = {};
  for (const s of servers) perServer[s] = 0;
  let unassigned = 0;
  for (const r of runners) {
    if (!r) unassigned++;
    else perServer[r] = (perServer[r] ?? 0) + 1;
  }
  const counts = Object.values(perServer);
  const balanced = unassigned === 0 && Math.max(...counts) - Math.min(...counts) <= 1;
  return { perServer, unassigned, balanced };
}
