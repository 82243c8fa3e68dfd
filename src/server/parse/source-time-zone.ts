// The zone a source's TIMESTAMPs are rendered in: its global time_zone, which an operator can
// change at any time (SET GLOBAL time_zone), and which for a SYSTEM zone the source names only
// by an abbreviation is a fixed offset that changes with daylight saving time. Read at every
// (re)connect and again every minute; a change applies from the next event decoded on (what
// was decoded before is not rendered again) and is logged, so the switch can be found.
import type { Logger } from "../../common/log.js";
import { ReplicationClient } from "../replication/replication-client.js";
import { describeSource, type SourceConfig } from "../replication/source.js";

export interface SourceTimeZoneOptions {
  source: SourceConfig;
  log: Logger;
  /** How often to read it again (ms; 0: only at connect). */
  everyMs: number;
  /** A connection for queries when the reader has one (its schema lookups'); else one per check. */
  queryClient(): ReplicationClient | undefined;
  /** Where the reader is ("file:offset"), for the log line. */
  position(): string;
  /** The zone changed between two checks: render in this one from now on. */
  changed(zone: string): void;
}

export class SourceTimeZone {
  readonly #o: SourceTimeZoneOptions;
  #zone: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #checking = false;

  constructor(opts: SourceTimeZoneOptions) {
    this.#o = opts;
  }

  /** The zone in force (undefined before the first connect). */
  get zone(): string | undefined {
    return this.#zone;
  }

  /** A connection read the source's zone: the one to render in. */
  connected(zone: string): void {
    if (this.#zone !== undefined && zone !== this.#zone) this.#log(this.#zone, zone);
    this.#zone = zone;
  }

  start(): void {
    if (this.#o.everyMs <= 0 || this.#timer) return;
    this.#timer = setInterval(() => void this.check(), this.#o.everyMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Reads the zone again; calls changed() when it is another. Errors are logged, not thrown. */
  async check(): Promise<void> {
    if (this.#checking || this.#zone === undefined) return;
    this.#checking = true;
    let own: ReplicationClient | undefined;
    try {
      let client = this.#o.queryClient();
      if (!client) {
        own = await ReplicationClient.connect(this.#o.source);
        client = own;
      }
      const zone = await client.timeZone();
      const before = this.#zone;
      if (this.#timer === undefined || zone === before) return;
      this.#zone = zone;
      this.#o.changed(zone);
      this.#log(before, zone);
    } catch (err) {
      this.#o.log.debug("could not read the source's time zone; checking again later", {
        error: (err as Error).message,
      });
    } finally {
      own?.close();
      this.#checking = false;
    }
  }

  #log(from: string, to: string): void {
    this.#o.log.warn(
      "the source's time zone changed: TIMESTAMP values are rendered in the new one from here on",
      {
        source: describeSource(this.#o.source),
        from,
        to,
        after: this.#o.position(),
      },
    );
  }
}
