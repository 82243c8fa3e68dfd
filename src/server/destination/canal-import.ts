// canal's cursors made Sluice's. Its file-mode cursors (meta.dat, found by --canal-conf) are
// imported into Sluice's cursor store the first time Sluice runs the destination, so that canal's consumers go on where
// they acked. Once imported (or when the store already has that clientId), Sluice's own
// cursors are the truth: a record in the store keeps the import from happening again, so a
// clientId removed later does not come back from a stale meta.dat. The cursors canal's servers
// left in ZooKeeper are in Sluice's layout already; adoptCanalCursors turns their positions
// into points to resume from.
import { readFile } from "node:fs/promises";
import type { Logger } from "../../common/log.js";
import type { Cursor } from "../entry/positions.js";
import { parseCanalMetaFile } from "../meta/canal-meta-file.js";
import type { CursorStore } from "../meta/cursor-store.js";
import { findCanalResume } from "../parse/find-start.js";
import type { SourceConfig } from "../replication/source.js";

export interface CanalImportOptions {
  destination: string;
  /** The meta.dat file, absolute. */
  file: string;
  source: SourceConfig;
  store: CursorStore;
  logger: Logger;
}

/** Imports the destination's clients from canal's meta.dat unless done before. */
export async function importCanalCursors(o: CanalImportOptions): Promise<void> {
  if (await o.store.loadImportRecord(o.destination)) return;
  let text: string;
  try {
    text = await readFile(o.file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  let clients: ReturnType<typeof parseCanalMetaFile>;
  try {
    clients = parseCanalMetaFile(text, o.destination);
  } catch (err) {
    throw new Error(`${o.file}: canal's cursor file cannot be read: ${(err as Error).message}`);
  }
  const existing = new Set((await o.store.load(o.destination)).map((c) => c.clientId));
  const imported: string[] = [];
  for (const c of clients) {
    if (existing.has(c.clientId)) {
      o.logger.info("canal cursor not imported: Sluice has one for this clientId", {
        clientId: c.clientId,
        file: o.file,
      });
      continue;
    }
    if (c.cursor) {
      const cursor = await toCursor(o, c.cursor);
      await o.store.saveCursor(o.destination, c.clientId, cursor);
      o.logger.info("imported canal cursor", {
        clientId: c.clientId,
        canal: `${c.cursor.journalName}:${c.cursor.position}`,
        resume: `${cursor.resume.file}:${cursor.resume.position}`,
        ...(cursor.ackedThrough
          ? { ackedThrough: `${cursor.ackedThrough.file}:${cursor.ackedThrough.position}` }
          : {}),
        file: o.file,
      });
    }
    // A client with no cursor is kept too (it had subscribed): its filter registers it.
    if (c.filter !== "" || !c.cursor) await o.store.saveFilter(o.destination, c.clientId, c.filter);
    imported.push(c.clientId);
  }
  await o.store.saveImportRecord(o.destination, { from: o.file, at: Date.now(), clients: imported });
}

type CanalCursor = NonNullable<ReturnType<typeof parseCanalMetaFile>[number]["cursor"]>;

/** canal's cursor as Sluice's: resume at its transaction's start, with everything through it acked. */
async function toCursor(o: CanalImportOptions, c: CanalCursor): Promise<Cursor> {
  const found = await findCanalResume(o.source, { file: c.journalName, position: c.position });
  if (found) return { ...found, serverId: c.serverId };
  // Not on the source (purged) or not an event's start: kept as canal had it; if the source
  // cannot stream from there, the destination stops and says so, and `sluice cursor set` moves it.
  o.logger.warn("canal cursor imported as it is: no event of the source's binlog starts there", {
    canal: `${c.journalName}:${c.position}`,
    file: o.file,
  });
  return {
    resume: { file: c.journalName, position: c.position, gtid: c.gtid, timestamp: c.timestamp },
    serverId: c.serverId,
  };
}

/**
 * Cursors canal's own servers left in ZooKeeper (canal's HA mode), rewritten as Sluice's
 * before the destination reads them: canal's position is the last event the client acked,
 * often inside a transaction, where no reading can start. Cursors Sluice wrote are left alone.
 */
export async function adoptCanalCursors(o: {
  destination: string;
  source: SourceConfig;
  store: CursorStore;
  logger: Logger;
}): Promise<void> {
  for (const c of await o.store.load(o.destination)) {
    if (!c.writtenByCanal || !c.cursor) continue;
    const at = c.cursor.resume;
    const found = await findCanalResume(o.source, at);
    if (!found) {
      o.logger.warn("canal's cursor left as it is: no event of the source's binlog starts there", {
        clientId: c.clientId,
        canal: `${at.file}:${at.position}`,
      });
      continue;
    }
    await o.store.saveCursor(o.destination, c.clientId, { ...found, serverId: c.cursor.serverId });
    o.logger.info("took over canal's cursor", {
      clientId: c.clientId,
      canal: `${at.file}:${at.position}`,
      resume: `${found.resume.file}:${found.resume.position}`,
      ...(found.ackedThrough
        ? { ackedThrough: `${found.ackedThrough.file}:${found.ackedThrough.position}` }
        : {}),
    });
  }
}
