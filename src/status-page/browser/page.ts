// The status page in the browser: asks AdminService.ListDestinations (Connect JSON, same
// origin) every two seconds and draws the answer. The page holds no data of its own, so the
// admin API's authentication and authorization decide what it shows: on `unauthenticated` it
// asks for a bearer token, kept in this tab's sessionStorage; a client certificate the
// browser shows works by itself. Text goes in through textContent only, never as markup.
import type {
  ClientStatusJson,
  DestinationStatusJson,
  ListDestinationsResponseJson,
} from "../../gen/sluice/v1/admin_service_pb.js";
import {
  ageText,
  connectError,
  fixText,
  HISTORY_LENGTH,
  holderText,
  int,
  LagHistory,
  lagLevel,
  lagOf,
  lagText,
  POLL_MS,
  positionText,
  sparkline,
  stateOf,
  timeText,
} from "./model.js";

const TOKEN_KEY = "sluice.status.token";
// Relative, so that the page works behind a proxy that serves it under a prefix.
const LIST_URL = "sluice.v1.AdminService/ListDestinations";
const SPARK_WIDTH = 120;
const SPARK_HEIGHT = 24;
const SVG = "http://www.w3.org/2000/svg";

const history = new LagHistory();
let lastUpdate = 0;
let waitingForToken = false;

const byId = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page lacks #${id}`);
  return e as T;
};

type Child = Node | string;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { class?: string; field?: string; title?: string; data?: Record<string, string> } = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.class) e.className = props.class;
  if (props.field) e.dataset.field = props.field;
  if (props.title) e.title = props.title;
  for (const [k, v] of Object.entries(props.data ?? {})) e.dataset[k] = v;
  e.append(...children);
  return e;
}

async function poll(): Promise<void> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "connect-protocol-version": "1",
    "connect-timeout-ms": "10000",
  };
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(LIST_URL, { method: "POST", headers, body: "{}", cache: "no-store" });
  } catch (err) {
    showProblem(`cannot reach the server: ${(err as Error).message}`);
    return;
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const e = connectError(res.status, body);
    if (e.code === "unauthenticated") {
      // A refused token is dropped, so that a reload asks afresh rather than sending it again.
      if (token) sessionStorage.removeItem(TOKEN_KEY);
      askForToken(token ? `The token was refused: ${e.message}` : e.message);
      return;
    }
    showProblem(`${e.code}: ${e.message}`);
    return;
  }
  const destinations = (body as ListDestinationsResponseJson).destinations ?? [];
  const now = Date.now();
  lastUpdate = now;
  history.record(now, destinations);
  byId("login").hidden = true;
  byId("forget").hidden = !token;
  render(destinations, now);
  const state = byId("state");
  state.className = "ok";
  state.textContent = `Updated ${timeText(now)}, every ${POLL_MS / 1000} s.`;
}

async function loop(): Promise<void> {
  await poll();
  if (!waitingForToken) setTimeout(loop, POLL_MS);
}

function showProblem(message: string): void {
  history.gap(Date.now());
  const state = byId("state");
  state.className = "problem";
  state.textContent = lastUpdate
    ? `${message}. Showing what was true at ${timeText(lastUpdate)}; trying again every ${POLL_MS / 1000} s.`
    : `${message}. Trying again every ${POLL_MS / 1000} s.`;
}

function askForToken(message: string): void {
  waitingForToken = true;
  byId("destinations").replaceChildren();
  byId("state").className = "problem";
  byId("state").textContent = "Authentication needed.";
  byId("login-error").textContent = message;
  byId("forget").hidden = true;
  byId("login").hidden = false;
  byId<HTMLInputElement>("token").focus();
}

function render(destinations: DestinationStatusJson[], now: number): void {
  const main = byId("destinations");
  if (destinations.length === 0) {
    main.replaceChildren(
      el("p", { class: "empty" }, "No destinations, or none that these credentials may administer."),
    );
    return;
  }
  main.replaceChildren(...destinations.map((d) => destination(d, now)));
}

function destination(d: DestinationStatusJson, now: number): HTMLElement {
  const name = d.name ?? "";
  const state = stateOf(d);
  const running = d.running;
  const runner = running?.address
    ? [
        running.address,
        int(running.epoch) ? `epoch ${int(running.epoch)}` : "",
        ageText(int(running.since), now),
      ]
        .filter(Boolean)
        .join(" · ")
    : "none: an election is in progress, or no live server can run it";
  const head = d.head ? `${positionText(d.head)} · ${timeText(int(d.head.timestamp))}` : "unknown";
  const facts: [string, string, string][] = [
    ["runner", "runner", runner],
    ["standbys", "standbys", d.standbys?.length ? d.standbys.join(", ") : "none"],
    ["head", "head", head],
  ];
  if (d.filter?.filter || d.filter?.blackFilter) {
    const f = [d.filter.filter, d.filter.blackFilter ? `not ${d.filter.blackFilter}` : ""];
    facts.push(["filter", "filter", f.filter(Boolean).join(", ")]);
  }
  if (int(d.eventsSkipped) > 0) facts.push(["events skipped", "skipped", String(int(d.eventsSkipped))]);
  const list = el("dl");
  for (const [label, field, value] of facts) list.append(el("dt", {}, label), el("dd", { field }, value));
  const section = el(
    "section",
    { class: "destination", data: { destination: name, state } },
    el("h2", {}, name, " ", el("span", { class: `badge ${state.replace(" ", "-")}`, field: "state" }, state)),
    list,
  );
  if (d.failure) {
    section.append(
      el(
        "div",
        { class: "failure", field: "failure" },
        el("strong", {}, `Stopped ${ageText(int(d.failure.since), now)}: `),
        d.failure.message ?? "",
        el("br"),
        `What to do: ${fixText(d)}.`,
      ),
    );
  }
  section.append(clients(name, d.clients ?? [], now));
  return section;
}

function clients(destination: string, list: ClientStatusJson[], now: number): HTMLElement {
  if (list.length === 0) return el("p", { class: "empty" }, "No clients yet.");
  const head = el(
    "tr",
    {},
    el("th", {}, "client"),
    el("th", {}, "holder"),
    el("th", {}, "cursor"),
    el("th", {}, "lag"),
    el("th", { class: "number" }, "unacked batches"),
    el("th", {}, `lag, last ${(HISTORY_LENGTH * POLL_MS) / 60_000} min`),
  );
  const rows = list.map((c) => {
    const id = c.clientId ?? "";
    const lag = lagOf(c);
    const since = c.holder ? ageText(int(c.holderSince), now) : "";
    return el(
      "tr",
      { data: { client: id } },
      el("td", { field: "client" }, id),
      el("td", { field: "holder" }, holderText(c), since ? el("span", { class: "quiet" }, ` ${since}`) : ""),
      el("td", { field: "cursor" }, positionText(c.cursor)),
      el("td", { field: "lag", class: `lag ${lagLevel(lag)}` }, lagText(lag)),
      el("td", { field: "unacked", class: "number" }, String(c.outstandingBatches ?? 0)),
      el("td", { field: "trend" }, spark(destination, id)),
    );
  });
  return el(
    "div",
    { class: "clients-box" },
    el("table", { class: "clients" }, el("thead", {}, head), el("tbody", {}, ...rows)),
  );
}

function spark(destination: string, clientId: string): SVGSVGElement {
  const samples = history.samples(destination, clientId);
  const drawn = sparkline(samples, SPARK_WIDTH, SPARK_HEIGHT);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("width", String(SPARK_WIDTH));
  svg.setAttribute("height", String(SPARK_HEIGHT));
  svg.setAttribute("viewBox", `0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}`);
  svg.dataset.samples = String(samples.length);
  const title = document.createElementNS(SVG, "title");
  title.textContent = `lag, ${samples.length} samples; top of the scale ${lagText(drawn.maxMs)}`;
  const base = document.createElementNS(SVG, "line");
  base.setAttribute("class", "base");
  for (const [k, v] of Object.entries({
    x1: 0,
    y1: SPARK_HEIGHT - 0.5,
    x2: SPARK_WIDTH,
    y2: SPARK_HEIGHT - 0.5,
  }))
    base.setAttribute(k, String(v));
  svg.append(title, base);
  for (const points of drawn.lines) {
    const line = document.createElementNS(SVG, "polyline");
    // A run of one sample is a dot: a segment of no length, drawn with round caps.
    line.setAttribute("points", points.includes(" ") ? points : `${points} ${points}`);
    svg.append(line);
  }
  return svg;
}

byId<HTMLFormElement>("login").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = byId<HTMLInputElement>("token").value.trim();
  if (!token || !waitingForToken) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  byId<HTMLInputElement>("token").value = "";
  byId("login-error").textContent = "";
  waitingForToken = false;
  void loop();
});

byId("forget").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
});

void loop();
