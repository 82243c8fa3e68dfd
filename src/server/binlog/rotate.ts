// ROTATE_EVENT: the next binlog file and position.
import type { BufferReader } from "./buffer-reader.js";
import type { EventHeader } from "./event-header.js";
import { EventFlag } from "./event-types.js";

export interface RotateBody {
  nextPosition: number;
  nextFile: string;
  artificial: boolean;
}

export function parseRotate(r: BufferReader, header: EventHeader, postHeaderLength: number): RotateBody {
  const nextPosition = postHeaderLength >= 8 ? r.u64Number() : 4;
  if (postHeaderLength > 8) r.skip(postHeaderLength - 8);
  const nextFile = r.rest().toString("utf8");
  return {
    nextPosition,
    nextFile,
    artificial: header.timestamp === 0 || (header.flags & EventFlag.ARTIFICIAL) !== 0,
  };
}
