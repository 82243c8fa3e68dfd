// haproxy in front of the gateways, as the cluster bench runs it: TCP mode (HTTP/1.1 and h2c
// pass through untouched), round robin, an HTTP health check of /readyz every 500 ms, a gateway
// out after 2 failed checks and back after 2 good ones (the settings of issue 22). With
// `shutdownSessions` a gateway marked down also has its open connections closed at once
// (`on-marked-down shutdown-sessions`): without it, a frozen gateway keeps the connections it
// holds and their consumers wait on them. Logs (server state changes, one line per connection
// closed) go to stdout with ISO timestamps; a stats socket tells the bench each gateway's state.
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { type ManagedProcess, spawnManaged, waitFor } from "../../test/harness/processes.js";

export const HAPROXY = "/usr/sbin/haproxy";

export interface HaproxySettings {
  port: number;
  /** name → 127.0.0.1 port of each gateway. */
  backends: { name: string; port: number }[];
  checkIntervalMs: number;
  fall: number;
  rise: number;
  shutdownSessions: boolean;
  statsSocket: string;
}

export function haproxyConfig(s: HaproxySettings): string {
  return [
    "global",
    "  maxconn 512",
    `  stats socket ${s.statsSocket} level operator`,
    "  log stdout format iso local0 info",
    "defaults",
    "  mode tcp",
    "  log global",
    "  option tcplog",
    "  timeout connect 1s",
    // Streams may carry nothing for a while; the gateways' and clients' own keep-alives decide.
    "  timeout client 10m",
    "  timeout server 10m",
    // A connection refused by a gateway that just died is tried again on the other one.
    "  retries 2",
    "  option redispatch",
    "frontend sluice",
    `  bind 127.0.0.1:${s.port}`,
    "  default_backend gateways",
    "backend gateways",
    "  balance roundrobin",
    "  option httpchk GET /readyz",
    `  default-server inter ${s.checkIntervalMs}ms fall ${s.fall} rise ${s.rise}${s.shutdownSessions ? " on-marked-down shutdown-sessions" : ""}`,
    ...s.backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check`),
    "",
  ].join("\n");
}

export interface Haproxy {
  readonly port: number;
  readonly process: ManagedProcess;
  readonly config: string;
  /** Each gateway's state as haproxy sees it ("UP", "DOWN", "UP 1/2", ...). */
  states(): Promise<Map<string, string>>;
  stop(): Promise<void>;
}

export async function startHaproxy(dir: string, s: HaproxySettings): Promise<Haproxy> {
  const config = haproxyConfig(s);
  const file = join(dir, "haproxy.cfg");
  writeFileSync(file, config);
  const p = spawnManaged("haproxy", HAPROXY, ["-db", "-f", file], { logFile: join(dir, "haproxy.log") });
  const states = async () => {
    const csv = await statsCommand(s.statsSocket, "show stat");
    const header = (csv.split("\n")[0] ?? "").replace(/^# /, "").split(",");
    const [svname, status] = [header.indexOf("svname"), header.indexOf("status")];
    const out = new Map<string, string>();
    for (const line of csv.split("\n").slice(1)) {
      const f = line.split(",");
      const name = f[svname];
      if (name && s.backends.some((b) => b.name === name)) out.set(name, f[status] ?? "");
    }
    return out;
  };
  await waitFor("haproxy's stats socket", () => states().catch(() => undefined), {
    timeoutMs: 10_000,
    failIf: () => (p.child.exitCode !== null ? `haproxy exited; see ${p.logFile}` : undefined),
  });
  return { port: s.port, process: p, config, states, stop: () => p.stop() };
}

function statsCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path: socket });
    let out = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`haproxy's stats socket did not answer "${command}"`));
    }, 2000);
    sock.on("connect", () => sock.end(`${command}\n`));
    sock.on("data", (d) => {
      out += d.toString();
    });
    sock.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}
