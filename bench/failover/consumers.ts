// The bench's side of its consumers: each runs as a child process (so that it can be killed
// and restarted like a real one), reports events on stdout (events.ts), and its events feed
// one Ledger across all its restarts.
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { type ManagedProcess, spawnManaged, waitFor } from "../../test/harness/processes.js";
import { type ConsumerEvent, parseEvent } from "./events.js";
import { Ledger } from "./ledger.js";

export class Consumer {
  readonly ledger = new Ledger();
  /** Every event, in order, across restarts (for the timeline of a fault). */
  readonly events: ConsumerEvent[] = [];
  process?: ManagedProcess;
  /** Why the consumer is of no more use: it exited without being told to. */
  failure?: string;
  #expectExit = false;
  /** Resolves once every line of the current process's stdout was read. */
  #read: Promise<void> = Promise.resolve();

  constructor(
    /** "A" or "B". */
    readonly name: string,
    readonly clientId: string,
    private readonly script: string,
    private readonly args: string[],
    private readonly logFile: string,
  ) {}

  start(): void {
    this.#expectExit = false;
    const p = spawnManaged(`consumer-${this.name}`, process.execPath, [this.script, ...this.args], {
      logFile: this.logFile,
    });
    this.process = p;
    const lines = createInterface({ input: p.child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      const e = parseEvent(line);
      if (!e) return;
      this.events.push(e);
      this.ledger.add(e);
    });
    this.#read = new Promise((resolve) => lines.once("close", resolve));
    p.exited.then((code) => {
      if (!this.#expectExit && p === this.process)
        this.failure = `consumer ${this.name} exited by itself (${code}); see ${this.logFile}`;
    });
  }

  /** SIGKILL (a crash): the batch it held has an unknown ack. */
  async kill(): Promise<void> {
    this.#expectExit = true;
    await this.process?.kill();
    await this.#read; // what it wrote before it died counts
    this.ledger.killed();
  }

  async stop(): Promise<void> {
    this.#expectExit = true;
    await this.process?.stop(10_000);
    await this.#read;
  }

  /** The time of its last delivered batch with rows (0 for none). */
  get lastDelivery(): number {
    return this.ledger.deliveries[this.ledger.deliveries.length - 1] ?? 0;
  }

  /** Resolves with the time of the first batch delivered after `after`. */
  async deliveredAfter(after: number, timeoutMs: number, what: string): Promise<number> {
    return waitFor(
      `consumer ${this.name} to get a batch ${what}`,
      async () => (this.lastDelivery > after ? this.ledger.deliveries.find((t) => t > after) : undefined),
      { timeoutMs, intervalMs: 20, failIf: () => this.failure },
    );
  }
}

export function consumerScript(name: "consumer-stream" | "consumer-unary"): string {
  return fileURLToPath(new URL(`./${name}.js`, import.meta.url));
}
