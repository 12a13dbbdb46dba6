// Live dashboard: polls /dashboard/data every two seconds and redraws the Plotly charts.
// Auth: a signed-in desk session (cookie) or a read key given in the URL fragment (#key=...),
// which never reaches the server's logs.
(function () {
  "use strict";
  var key = new URLSearchParams(window.location.hash.slice(1)).get("key");
  var status = document.getElementById("dash-status");
  var updates = 0;
  var layout = function () {
    return { margin: { t: 10, r: 10, b: 60, l: 40 }, barmode: "stack", height: 300,
             showlegend: true,
             legend: { x: 0.99, xanchor: "right", y: 0.99, yanchor: "top",
                       bgcolor: "rgba(255,255,255,0.8)" } };
  };
  var draw = function (id, traces, extra) {
    window.Plotly.react(id, traces, Object.assign(layout(), extra || {}),
                        { displayModeBar: false, responsive: true });
  };
  var render = function (d) {
    var queues = d.queues.map(function (q) { return q.queue; });
    draw("chart-load", [
      { type: "bar", name: "busy agents", x: queues, y: d.queues.map(function (q) { return q.busy_agents; }) },
      { type: "bar", name: "available agents", x: queues, y: d.queues.map(function (q) { return q.available_agents; }) },
      { type: "bar", name: "waiting", x: queues, y: d.queues.map(function (q) { return q.queue_length; }) }
    ]);
    var per = d.decisions_per_minute;
    draw("chart-decisions", Object.keys(per.actions).map(function (a) {
      return { type: "bar", name: a, x: per.minutes, y: per.actions[a] };
    }));
    var ch = d.conversions_by_channel;
    draw("chart-conversions", [{ type: "bar", name: "conversions", x: Object.keys(ch),
                                 y: Object.keys(ch).map(function (c) { return ch[c]; }) }]);
    // Predicted (Erlang, now) beside actual (answered in the last minutes: mean and p90).
    draw("chart-wait", [
      { type: "bar", name: "predicted wait", x: queues,
        y: d.queues.map(function (q) { return q.predicted_wait_seconds; }) },
      { type: "bar", name: "actual wait (mean)", x: queues,
        y: d.queues.map(function (q) { return q.actual_wait_mean_seconds; }) },
      { type: "scatter", mode: "markers", name: "actual wait (p90)", x: queues,
        marker: { symbol: "diamond", size: 10 },
        y: d.queues.map(function (q) { return q.actual_wait_p90_seconds; }) },
      { type: "scatter", mode: "markers", name: "target", x: queues,
        y: d.queues.map(function (q) { return q.target_answer_seconds; }) }
    ], { barmode: "group" });
    document.getElementById("kpi-decisions").textContent = d.decisions_today;
    document.getElementById("kpi-expected").textContent = "EUR " + d.incremental_margin.expected_today;
    document.getElementById("kpi-assisted").textContent = "EUR " + d.incremental_margin.assisted_margin_today;
    updates += 1;
    status.className = "dash-status";
    status.textContent = "Updated " + new Date(d.at).toLocaleTimeString() + " (" + updates + " updates)";
    status.dataset.updates = String(updates);
  };
  var poll = function () {
    var headers = key ? { Authorization: "Bearer " + key } : {};
    fetch("/dashboard/data", { headers: headers, credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) { throw new Error(r.status === 401 || r.status === 403 ? "sign in at /desk or open this page with #key=<read key>" : "HTTP " + r.status); }
        return r.json();
      })
      .then(render)
      .catch(function (e) { status.className = "dash-status dash-error"; status.textContent = "Not updating: " + e.message; })
      .then(function () { window.setTimeout(poll, 2000); });
  };
  poll();
})();
