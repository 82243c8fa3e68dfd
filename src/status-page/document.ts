// The status page's HTML and CSS. The page holds no data: its script (browser/page.ts) asks the
// admin API, from the same origin, and draws the answer.

export const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sluice status</title>
<link rel="icon" href="status/icon.svg">
<link rel="stylesheet" href="status/style.css">
<script type="module" src="status/page.js"></script>
</head>
<body>
<header>
<h1>Sluice status</h1>
<p id="state">Loading…</p>
<button id="forget" type="button" hidden>Forget the token</button>
</header>
<form id="login" hidden>
<p>The admin API wants credentials. A client certificate, if the browser has one, is shown by
the browser itself; otherwise give a bearer token (a token of the token file, or a JWT). It is
kept in this tab only (sessionStorage) and sent to this origin only.</p>
<label>Bearer token <input id="token" type="password" autocomplete="off" spellcheck="false"></label>
<button type="submit">Show status</button>
<p id="login-error" class="problem"></p>
</form>
<main id="destinations"></main>
<noscript>The status page draws itself with JavaScript; without it, ask the admin API:
POST /sluice.v1.AdminService/ListDestinations.</noscript>
</body>
</html>
`;

export const CSS = `:root {
  color-scheme: light dark;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --quiet: #6e7781; --line: #d0d7de;
  font: 14px/1.4 system-ui, sans-serif;
}
body { margin: 1.5rem; max-width: 70rem; }
header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
h1 { font-size: 1.3rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 0 0 .5rem; }
#state.ok { color: var(--quiet); }
.problem { color: var(--bad); }
.quiet { color: var(--quiet); }
.empty { color: var(--quiet); font-style: italic; }
form#login { border: 1px solid var(--line); border-radius: 6px; padding: 1rem; max-width: 40rem; }
form#login input { width: 22rem; font-family: ui-monospace, monospace; }
.destination { border: 1px solid var(--line); border-radius: 6px; padding: 1rem; margin: 1rem 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0 0 .75rem; }
dt { color: var(--quiet); }
dd { margin: 0; font-family: ui-monospace, monospace; }
.badge { font-size: .8rem; padding: .1rem .5rem; border-radius: 1rem; color: #fff; vertical-align: middle; }
.badge.running { background: var(--ok); }
.badge.no-runner { background: var(--warn); }
.badge.failed { background: var(--bad); }
.failure { border-left: 4px solid var(--bad); padding: .5rem .75rem; margin-bottom: .75rem; }
.clients-box { overflow-x: auto; }
table.clients { border-collapse: collapse; width: 100%; }
table.clients th { text-align: left; color: var(--quiet); font-weight: normal; border-bottom: 1px solid var(--line); }
table.clients td, table.clients th { padding: .3rem .6rem .3rem 0; }
table.clients td { font-family: ui-monospace, monospace; border-bottom: 1px solid var(--line); white-space: nowrap; }
table.clients .number { text-align: right; padding-right: 1.5rem; }
.lag.ok { color: var(--ok); }
.lag.warn { color: var(--warn); font-weight: bold; }
.lag.bad { color: var(--bad); font-weight: bold; }
.lag.unknown { color: var(--quiet); }
svg.spark { display: block; }
svg.spark polyline { fill: none; stroke: currentColor; stroke-width: 1.5; stroke-linecap: round; }
svg.spark line.base { stroke: var(--line); }
`;

/** A sluice gate, so that browsers ask for no /favicon.ico. */
export const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">
<rect x="1" y="10" width="14" height="5" fill="#0969da"/>
<rect x="5" y="1" width="6" height="11" fill="#57606a"/>
</svg>
`;
