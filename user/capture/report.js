// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// leaktrace capture page: draws report.json (embedded as #lt-data) with d3
// (v3, Debian's libjs-d3, embedded before this script). Every kind and
// field is read generically: a new site kind gets its chart, card and
// flame graph tab without changes here.
(function () {
"use strict";

var D = JSON.parse(document.getElementById("lt-data").textContent);
var R = D.report || {}, C = D.capture || {}, G = D.goroutines;
var app = d3.select("#app");

var KIND = {
	goroutine: { label: "Goroutines", color: "#7b3fbf", bytes: false },
	thread: { label: "OS threads", color: "#138a8a", bytes: false },
	mmap: { label: "Mapped (mmap)", color: "#e07b00", bytes: true },
	brk: { label: "brk heap", color: "#9a6324", bytes: true },
	fault: { label: "Resident (touched)", color: "#d62728", bytes: true },
	heap: { label: "Go heap in use", color: "#1f6fd1", bytes: true },
	malloc: { label: "malloc outstanding", color: "#2c9f4b", bytes: true }
};
// A kind this page does not know: measured in bytes when its sites have
// bytes (report.json gives bytes only to memory kinds).
function kindInfo(k) {
	if (!KIND[k])
		KIND[k] = { label: k, color: "#5c6b8a", bytes: (R.sites || []).some(function (s) {
			return s.kind === k && s.bytes !== null && s.bytes !== undefined; }) };
	return KIND[k];
}

// ---- formatting ----
function fmtBytes(b) {
	if (b === null || b === undefined || isNaN(b)) return "–";
	var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0, a = Math.abs(b);
	while (a >= 1024 && i < 4) { a /= 1024; b /= 1024; i++; }
	return (i ? b.toFixed(a < 10 ? 2 : 1) : b.toFixed(0)) + " " + u[i];
}
function fmtCount(n) {
	if (n === null || n === undefined || isNaN(n)) return "–";
	if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(1) + "M";
	if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1) + "k";
	return Math.round(n).toLocaleString("en-US");
}
function fmtFor(bytes) { return bytes ? fmtBytes : fmtCount; }
function fmtRate(v, bytes) {
	return (v > 0 ? "+" : v < 0 ? "−" : "") + fmtFor(bytes)(Math.abs(v)) + "/min";
}
function fmtDur(s) {
	if (s === null || s === undefined) return "–";
	if (s < 90) return Math.round(s) + " s";
	if (s < 5400) return Math.round(s / 60) + " min";
	return (s / 3600).toFixed(1) + " h";
}
function el(parent, tag, cls, text) {
	var e = parent.append(tag);
	if (cls) e.attr("class", cls);
	if (text !== undefined) e.text(text);
	return e;
}

// Frames users look at: not the runtime, libc or allocator plumbing.
var PLUMBING = /^(runtime\.|internal\/|syscall\.|__|mmap|munmap|mremap|brk|sbrk|madvise|clone|_int_|sysmalloc|malloc|calloc|realloc|operator new|pthread_create|start_thread|je_|tc_|sync\.\(\*Pool\))/;
function userFrame(stack) {
	if (!stack || !stack.length) return null;
	for (var i = 0; i < stack.length; i++)
		if (stack[i].function && !PLUMBING.test(stack[i].function)) return stack[i];
	return stack[0];
}
function frameName(f) {
	if (!f) return "(stack unknown)";
	if (f.function) return f.function;
	var m = f.module ? f.module.split("/").pop() : "?";
	return m + "+" + f.address;
}
function frameLoc(f) {
	if (!f || !f.file) return f && f.module ? f.module : "";
	return f.file.split("/").slice(-2).join("/") + ":" + f.line;
}
function siteName(s) {
	if (!s.stack || !s.stack.length)
		return s.origin === "before_attach" ? "(alive before attach, stack unknown)" : "(stack unknown)";
	return frameName(userFrame(s.stack));
}
function siteValue(s) { return kindInfo(s.kind).bytes ? s.bytes : s.live; }

// ---- a line chart of [t, v] points ----
function lineChart(parent, pts, o) {
	var W = o.width || 360, H = o.height || 150, m = { t: 10, r: 12, b: 24, l: 62 };
	var w = W - m.l - m.r, h = H - m.t - m.b, f = fmtFor(o.bytes);
	var svg = parent.append("svg").attr("class", "chart").attr("viewBox", "0 0 " + W + " " + H)
		.attr("preserveAspectRatio", "xMidYMid meet");
	var g = svg.append("g").attr("transform", "translate(" + m.l + "," + m.t + ")");
	pts = pts.filter(function (p) { return p[1] !== null && p[1] !== undefined; });
	if (pts.length < 1) {
		g.append("text").attr("class", "nodata").attr("x", w / 2).attr("y", h / 2)
			.attr("text-anchor", "middle").text("no samples");
		return svg;
	}
	var tmax = d3.max(pts, function (p) { return p[0]; }) || 1;
	var vmin = d3.min(pts, function (p) { return p[1]; }), vmax = d3.max(pts, function (p) { return p[1]; });
	if (o.limit && o.limit < vmax * 4) vmax = Math.max(vmax, o.limit);
	var lo = o.zero === false ? vmin - (vmax - vmin) * 0.1 : 0;
	if (lo < 0) lo = 0;
	if (vmax === lo) vmax = lo + (o.bytes ? 4096 : 1);
	var x = d3.scale.linear().domain([0, tmax]).range([0, w]);
	var y = d3.scale.linear().domain([lo, vmax * 1.05]).range([h, 0]).nice(4);
	g.append("g").attr("class", "grid").call(d3.svg.axis().scale(y).orient("left").ticks(4)
		.tickSize(-w, 0).tickFormat(""));
	g.append("g").attr("class", "axis").call(d3.svg.axis().scale(y).orient("left").ticks(4)
		.tickFormat(o.bytes ? f : function (v) { return v === Math.round(v) ? f(v) : ""; }));
	g.append("g").attr("class", "axis").attr("transform", "translate(0," + h + ")")
		.call(d3.svg.axis().scale(x).orient("bottom").ticks(5).tickFormat(function (t) { return fmtDur(t); }));
	var color = o.color || "#1f6fd1";
	g.append("path").datum(pts).attr("class", "area").attr("fill", color)
		.attr("d", d3.svg.area().x(function (p) { return x(p[0]); }).y0(h).y1(function (p) { return y(p[1]); }));
	g.append("path").datum(pts).attr("class", "line").attr("stroke", color)
		.attr("d", d3.svg.line().x(function (p) { return x(p[0]); }).y(function (p) { return y(p[1]); }));
	(o.extra || []).forEach(function (e) {
		var ep = e.pts.filter(function (p) { return p[1] !== null; });
		g.append("path").datum(ep).attr("class", "line dashed").attr("stroke", e.color)
			.attr("d", d3.svg.line().x(function (p) { return x(p[0]); }).y(function (p) { return y(p[1]); }));
	});
	if (o.limit && o.limit <= y.domain()[1]) {
		g.append("line").attr("class", "limit").attr("x1", 0).attr("x2", w)
			.attr("y1", y(o.limit)).attr("y2", y(o.limit));
		g.append("text").attr("class", "limit-t").attr("x", 4).attr("y", y(o.limit) + 11)
			.text("memory limit " + f(o.limit));
	}
	if (o.name) svg.attr("data-name", o.name);
	// hover: value at the nearest sample
	var rule = g.append("line").attr("class", "rule").attr("y1", 0).attr("y2", h).style("display", "none");
	var tip = g.append("text").attr("class", "tip").attr("y", 10).style("display", "none");
	var bis = d3.bisector(function (p) { return p[0]; }).left;
	g.append("rect").attr("class", "overlay").attr("width", w).attr("height", h)
		.on("mouseout", function () { rule.style("display", "none"); tip.style("display", "none"); })
		.on("mousemove", function () {
			var t = x.invert(d3.mouse(this)[0]), i = Math.min(bis(pts, t), pts.length - 1);
			var p = pts[i], px = x(p[0]);
			rule.attr("x1", px).attr("x2", px).style("display", null);
			tip.attr("x", px > w / 2 ? px - 6 : px + 6).attr("text-anchor", px > w / 2 ? "end" : "start")
				.text(fmtDur(p[0]) + ": " + f(p[1])).style("display", null);
		});
	return svg;
}

function zip(t, v) {
	var out = [];
	for (var i = 0; i < t.length && i < v.length; i++) out.push([t[i], v[i]]);
	return out;
}

// ---- header and verdict ----
function header() {
	var tg = R.target || {}, h = el(app, "header", "top");
	el(h, "div", "brand", "leaktrace capture");
	el(h, "h1", null, (tg.comm || "?") + "  ·  pid " + tg.pid);
	var meta = el(h, "div", "meta");
	[["executable", tg.exe], ["Go", tg.go_version || "not a Go program"],
	 ["started", (R.started_at || "").replace("T", " ").replace("Z", " UTC")],
	 ["traced", fmtDur(R.duration_s)], ["by", R.version]].forEach(function (kv) {
		var s = el(meta, "span", "kv");
		el(s, "b", null, kv[0] + " ");
		el(s, "span", null, kv[1] || "–");
	});
	if (C.command) el(h, "div", "cmd", "$ " + C.command);
}

function verdict(sites) {
	var leaks = sites.filter(function (s) { return s.leak; });
	var end = C.end || {};
	var box = el(app, "section", "verdict " + (end.oom_killed ? "bad" : leaks.length ? "bad" : "good"));
	if (end.exited) {
		var e = el(box, "div", "ended"), lim = end.memory_limit_bytes;
		el(e, "b", null, end.oom_killed ? "The kernel OOM-killed the target " + fmtDur(end.at_s) +
		   " into the capture. " : "The target ended during the capture (after " + fmtDur(end.at_s) + "): ");
		el(e, "span", null, (end.oom_killed ? "" : end.how + " · ") +
		   (end.cgroup_oom_kills !== null && end.cgroup_oom_kills !== undefined ?
			"cgroup oom_kill +" + end.cgroup_oom_kills : "no cgroup OOM count") +
		   (lim ? " · memory limit " + fmtBytes(lim) : ""));
	}
	if (!leaks.length) {
		el(box, "div", "big", "No steady growth found in " + fmtDur(R.duration_s) + " of tracing");
		el(box, "div", "sub", "Nothing rose steadily without being given back. Longer captures see slower leaks.");
		return;
	}
	// One line per culprit: its leaking kinds side by side.
	var by = {}, names = [];
	leaks.forEach(function (s) {
		var n = siteName(s);
		if (!by[n]) { by[n] = []; names.push(n); }
		by[n].push(s);
	});
	el(box, "div", "big", names.length + (names.length === 1 ? " place keeps" : " places keep") +
	   " growing");
	var ul = el(box, "ol", "leaks");
	names.slice(0, 6).forEach(function (n) {
		var li = el(ul, "li");
		el(li, "b", "fn", n);
		by[n].forEach(function (s) {
			var k = kindInfo(s.kind), sp = el(li, "span", "what");
			el(sp, "span", "chip").style("background", k.color).text(s.kind);
			el(sp, "span", "rate", " " + fmtRate(s.growth_per_min, k.bytes));
			el(sp, "span", "now", " (now " + fmtFor(k.bytes)(siteValue(s)) + ")");
		});
	});
	if (names.length > 6) el(box, "div", "sub", "and " + (names.length - 6) + " more below");
}

// ---- over time ----
function overTime() {
	var tl = C.timeline || { t: [] }, sec = el(app, "section", "panel");
	el(sec, "h2", null, "Over time");
	el(sec, "p", "hint", "Every sample leaktrace took (" + tl.t.length + " samples). Hover a chart for values.");
	var grid = el(sec, "div", "tiles"), kinds = tl.kinds || {};
	function tile(title, pts, o, extra) {
		var t = el(grid, "div", "tile"), v = pts.filter(function (p) { return p[1] !== null; });
		var hd = el(t, "div", "tile-h");
		el(hd, "span", "tile-t", title);
		if (v.length) {
			var a = v[0][1], b = v[v.length - 1][1], f = fmtFor(o.bytes);
			el(hd, "span", "tile-v", f(b));
			el(hd, "span", "tile-d " + (b > a ? "up" : b < a ? "down" : ""),
			   (b >= a ? "+" : "−") + f(Math.abs(b - a)));
		}
		lineChart(t, pts, o);
		if (extra) el(t, "div", "legend", extra);
	}
	tile("RSS", zip(tl.t, tl.rss_bytes || []), { bytes: true, color: "#1f6fd1", zero: false, name: "rss",
		limit: (C.end || {}).memory_limit_bytes,
		extra: [{ pts: zip(tl.t, tl.rss_anon_bytes || []), color: "#8fb6ea" }] },
	     "solid: resident · dashed: anonymous");
	tile("OS threads", zip(tl.t, tl.threads || []), { bytes: false, color: KIND.thread.color, name: "threads" });
	var order = ["goroutine", "heap"].concat(Object.keys(kinds).filter(function (k) {
		return k !== "goroutine" && k !== "heap" && k !== "thread"; }));
	order.forEach(function (k) {
		var ki = kindInfo(k);
		if (!kinds[k]) {
			if (k === "goroutine" && R.target && R.target.go_version)
				el(el(grid, "div", "tile empty"), "p", null, "Goroutines: not traced (--no-go?)");
			else if (k === "heap" && R.target && R.target.go_version)
				el(el(grid, "div", "tile empty"), "p", null,
				   "Go heap: no heap sites in this report (the Go heap profile was not read).");
			return;
		}
		tile(ki.label, zip(tl.t, kinds[k]), { bytes: ki.bytes, color: ki.color, name: k });
	});
}

// ---- culprits ----
function culprits(sites) {
	var anyLeak = sites.some(function (s) { return s.leak; });
	var top = sites.filter(function (s) { return s.leak || s.growth_per_min > 0; }).slice(0, anyLeak ? 8 : 4);
	var sec = el(app, "section", "panel");
	el(sec, "h2", null, anyLeak ? "Top culprits" : "What grew (none of it looks like a leak)");
	if (!top.length) {
		el(sec, "p", "hint", "No site grew during the capture.");
		return;
	}
	el(sec, "p", "hint", (anyLeak ? "Most suspect first. " : "Rose, but stepped, levelled off or was given back: no leak verdict. ") +
	   "The chart is that call site's own samples; the stack is where the objects were created.");
	var cards = el(sec, "div", "cards");
	top.forEach(function (s, i) {
		var k = kindInfo(s.kind), f = userFrame(s.stack), card = el(cards, "div", "card" + (s.leak ? " leak" : ""));
		card.attr("data-culprit", siteName(s));
		var hd = el(card, "div", "card-h");
		el(hd, "span", "rank", "#" + (i + 1));
		el(hd, "span", "chip").style("background", k.color).text(s.kind);
		if (s.leak) el(hd, "span", "chip leakchip", "LEAK " + Math.round((s.confidence || 0) * 100) + "%");
		if (s.shape) el(hd, "span", "shape", s.shape);
		el(card, "div", "fn", siteName(s));
		el(card, "div", "loc", frameLoc(f));
		var nums = el(card, "div", "nums");
		var third = s.oldest_s !== null && s.oldest_s !== undefined ? [fmtDur(s.oldest_s), "oldest"] :
			s.freed_bytes !== undefined ? [fmtBytes(s.freed_bytes), "given back"] :
			[fmtCount(s.created), "created"];
		[[fmtFor(k.bytes)(siteValue(s)), "now"], [fmtRate(s.growth_per_min, k.bytes), "growth"], third]
		.forEach(function (n) {
			var d = el(nums, "div", "num");
			el(d, "b", null, n[0]);
			el(d, "span", null, n[1]);
		});
		if (s.kind === "goroutine" && s.wait_reason)
			el(card, "div", "wait", (s.waiting || 0) + " parked in \u201c" + s.wait_reason + "\u201d" +
			   (s.wait_stack && s.wait_stack.length ? " at " + frameName(userFrame(s.wait_stack)) : ""));
		lineChart(card, s.series || [], { bytes: k.bytes, color: k.color, width: 340, height: 120, name: siteName(s) });
		var det = el(card, "details");
		el(det, "summary", null, "stack (" + (s.stack || []).length + " frames)" + (s.stack_truncated ? ", truncated" : ""));
		el(det, "pre", null, (s.stack || []).map(function (fr) {
			return frameName(fr) + (fr.file ? "\n    " + fr.file + ":" + fr.line : "");
		}).join("\n") || "(no stack)");
		if (s.wait_stack && s.wait_stack.length) {
			var w = el(card, "details");
			el(w, "summary", null, "where they wait");
			el(w, "pre", null, s.wait_stack.map(function (fr) {
				return frameName(fr) + (fr.file ? "\n    " + fr.file + ":" + fr.line : "");
			}).join("\n"));
		}
	});
}

// ---- findings ----
function findings() {
	var fs = R.findings || [], sec = el(app, "section", "panel");
	el(sec, "h2", null, "Findings");
	if (!fs.length) { el(sec, "p", "hint", "No findings."); return; }
	var ul = el(sec, "ul", "findings");
	fs.forEach(function (f) {
		var li = el(ul, "li", "sev-" + f.severity);
		el(li, "span", "sev", f.severity);
		el(li, "b", null, f.title);
		if (f.detail) el(li, "p", null, f.detail);
	});
}

// ---- flame graph of what is outstanding, one tab per kind ----
function parseFolded(text) {
	var roots = {};
	text.split("\n").forEach(function (line) {
		var sp = line.lastIndexOf(" ");
		if (sp < 0) return;
		var v = +line.slice(sp + 1), parts = line.slice(0, sp).split(";");
		if (!(v > 0) || parts.length < 2) return;
		var kind = parts[0];
		var node = roots[kind] || (roots[kind] = { name: kind, children: {}, value: 0 });
		node.value += v;
		for (var i = 1; i < parts.length; i++) {
			var c = node.children[parts[i]] || (node.children[parts[i]] = { name: parts[i], children: {}, value: 0 });
			c.value += v;
			node = c;
		}
	});
	function arr(n) {
		var kids = Object.keys(n.children).map(function (k) { return arr(n.children[k]); });
		return { name: n.name, total: n.value, children: kids.length ? kids : null };
	}
	var out = {};
	Object.keys(roots).forEach(function (k) { out[k] = arr(roots[k]); });
	return out;
}

function flameColor(name) {
	var h = 0;
	for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
	if (PLUMBING.test(name)) return "hsl(" + (30 + h % 20) + ",30%," + (72 + h % 10) + "%)";
	return "hsl(" + (h % 40) + "," + (70 + h % 25) + "%," + (55 + (h >> 8) % 12) + "%)";
}

function flame(trees, kind, box, leakNames) {
	box.selectAll("*").remove();
	var root = trees[kind], k = kindInfo(kind), f = fmtFor(k.bytes);
	var W = 1100, row = 18, part = d3.layout.partition().sort(function (a, b) { return d3.ascending(a.name, b.name); })
		.value(function (d) { return d.total; }).children(function (d) { return d.children; });
	// Leaves carry their own total: partition sums children, so a node's
	// own (self) share is its total minus its children's.
	(function self(n) {
		if (!n.children) return;
		var s = d3.sum(n.children, function (c) { return c.total; });
		n.children.forEach(self);
		if (n.total > s) n.children.push({ name: "", total: n.total - s, self: true });
	})(root);
	var nodes = part.nodes(root), depth = d3.max(nodes, function (d) { return d.depth; }) + 1;
	var H = depth * row + 4;
	var svg = box.append("svg").attr("class", "flame").attr("viewBox", "0 0 " + W + " " + H)
		.attr("data-kind", kind);
	var x = d3.scale.linear().range([0, W]);
	var info = el(box, "div", "flame-info", "Hover a frame; click to zoom in, click the bottom bar to zoom out. Width: " +
		(k.bytes ? "bytes outstanding" : "live objects") + " per stack (" + f(root.total) + " in all).");
	var g = svg.selectAll("g").data(nodes.filter(function (d) { return !d.self; })).enter().append("g")
		.attr("class", function (d) { return "frame" + (leakNames[d.name] ? " hot" : ""); });
	function draw(ox, odx) {
		x.domain([ox, ox + odx]);
		g.attr("transform", function (d) { return "translate(" + x(d.x) + "," + (H - (d.depth + 1) * row) + ")"; })
			.style("display", function (d) { return x(d.x + d.dx) - x(d.x) < 0.5 || d.x + d.dx <= ox || d.x >= ox + odx ? "none" : null; });
		g.select("rect").attr("width", function (d) { return Math.max(0, x(d.x + d.dx) - x(d.x) - 0.5); });
		g.select("text").text(function (d) {
			var w = x(d.x + d.dx) - x(d.x), n = Math.floor((w - 6) / 6.6);
			if (n < 3) return "";
			return d.name.length > n ? d.name.slice(0, n - 1) + "…" : d.name;
		});
	}
	g.append("rect").attr("height", row - 1).attr("rx", 2)
		.attr("fill", function (d) { return d.depth ? flameColor(d.name) : k.color; });
	g.append("text").attr("x", 4).attr("y", row - 5);
	g.append("title").text(function (d) {
		return d.name + "\n" + f(d.value) + " (" + (100 * d.value / root.total).toFixed(1) + "%)";
	});
	g.on("mouseover", function (d) {
		info.text(d.name + " — " + f(d.value) + ", " + (100 * d.value / root.total).toFixed(1) + "% of " + kind);
	}).on("click", function (d) { draw(d.x, d.dx); });
	draw(0, 1);
}

// What grew while traced, per creation stack, as folded lines: objects
// created while traced all count; for those alive before attach only the
// rise of their series. From report.json's sites (the most suspect ones).
function growthFolded(sites) {
	return sites.map(function (s) {
		var v = siteValue(s) || 0, ser = s.series || [];
		if (s.origin === "before_attach")
			v = ser.length > 1 ? ser[ser.length - 1][1] - ser[0][1] : 0;
		if (!(v > 0)) return "";
		var names = (s.stack || []).slice().reverse().map(function (f) {
			return frameName(f).replace(/;/g, "_");
		});
		if (!names.length) names = [s.origin === "before_attach" ? "[alive before attach]" : "[stack unknown]"];
		return s.kind + ";" + names.join(";") + " " + Math.round(v);
	}).join("\n");
}

function flameSection(sites) {
	var views = {
		growth: { label: "grew during the capture", trees: parseFolded(growthFolded(sites)) },
		all: { label: "everything outstanding (incl. alive before attach)", trees: parseFolded(D.folded || "") }
	};
	var sec = el(app, "section", "panel");
	el(sec, "h2", null, "Flame graph of the growth");
	var view = Object.keys(views.growth.trees).length ? "growth" : "all";
	if (!Object.keys(views[view].trees).length) {
		el(sec, "p", "hint", "Nothing grew or is outstanding at the end of the capture.");
		return;
	}
	var leakNames = {};
	sites.forEach(function (s) { if (s.leak) leakNames[siteName(s)] = true; });
	var modes = el(sec, "div", "tabs modes"), tabs = el(sec, "div", "tabs"), box = el(sec, "div", "flamebox");
	var kind = null;
	function showTabs() {
		var trees = views[view].trees, kinds = Object.keys(trees);
		// The tab of the most suspect site first.
		var first = sites.length && trees[sites[0].kind] ? sites[0].kind : kinds[0];
		if (!kind || !trees[kind]) kind = first;
		kinds.sort(function (a, b) { return (a === first ? -1 : 0) - (b === first ? -1 : 0); });
		tabs.selectAll("*").remove();
		kinds.forEach(function (kd) {
			el(tabs, "button", kd === kind ? "tab on" : "tab", kindInfo(kd).label)
				.style("border-color", kindInfo(kd).color)
				.on("click", function () { kind = kd; showTabs(); });
		});
		flame(trees, kind, box, leakNames);
	}
	Object.keys(views).forEach(function (v) {
		el(modes, "button", v === view ? "tab mode on" : "tab mode", views[v].label)
			.on("click", function () {
				view = v;
				modes.selectAll(".mode").classed("on", false);
				d3.select(this).classed("on", true);
				showTabs();
			});
	});
	el(sec, "p", "hint", "Frames outlined in red are the leaking sites above. Outermost frame at the bottom.");
	showTabs();
}

// ---- goroutine dump ----
function goroutines() {
	if (!G) {
		if (R.target && R.target.go_version) {
			var s0 = el(app, "section", "panel");
			el(s0, "h2", null, "Goroutines");
			el(s0, "p", "hint", "No goroutine dump: see goroutines.txt for why.");
		}
		return;
	}
	var sec = el(app, "section", "panel");
	el(sec, "h2", null, "Goroutines (" + fmtCount(G.total) + " in " + G.groups.length + " groups)");
	if (G.taken === "start")
		el(sec, "p", "warn", "This dump was taken at the start of the capture: at the end the process " +
		   "could not be read any more (see goroutines.txt). The goroutine counts over time are above.");
	el(sec, "p", "hint", "Read from the process's memory at " + G.read_at +
	   " without stopping it; grouped by state, park stack and creator, like Go's debug=2 dump. Full text: " +
	   (G.taken === "start" ? "snapshots/start/goroutines.txt." : "goroutines.txt."));
	var max = d3.max(G.groups, function (g) { return g.count; }) || 1;
	var list = el(sec, "div", "gdump");
	G.groups.forEach(function (g) {
		var det = el(list, "details", "ggroup"), sum = el(det, "summary");
		el(el(sum, "span", "gbar"), "i").style("width", (100 * g.count / max) + "%");
		el(sum, "b", "gcount", fmtCount(g.count));
		el(sum, "span", "gstate" + (g.waiting ? " waiting" : ""), g.state +
		   (g.parked_min_max >= 1 ? ", " + Math.round(g.parked_min_max) + " min" : ""));
		el(sum, "span", "gfn", frameName(userFrame(g.stack)));
		if (g.created_by) el(sum, "span", "gby", "created by " + frameName(g.created_by));
		var txt = g.stack.map(function (fr) {
			return frameName(fr) + "(...)" + (fr.file ? "\n\t" + fr.file + ":" + fr.line : "");
		});
		if (g.created_by)
			txt.push("created by " + frameName(g.created_by) + (g.parent_goid ? " in goroutine " + g.parent_goid : "") +
				 (g.created_by.file ? "\n\t" + g.created_by.file + ":" + g.created_by.line : ""));
		if (g.creation_stack) {
			txt.push("creation stack (recorded by leaktrace when goroutine " + g.creation_goid + " started):");
			g.creation_stack.forEach(function (fr) {
				txt.push("  " + frameName(fr) + (fr.file ? "\n\t  " + fr.file + ":" + fr.line : ""));
			});
		}
		(g.ancestry || []).forEach(function (a) { txt.push("  ancestor " + a); });
		el(det, "pre", null, "goroutine " + g.ids[0] + " [" + g.state + "]:   (ids " + g.ids.join(" ") +
		   (g.count > g.ids.length ? " …" : "") + ")\n" + txt.join("\n"));
	});
}

// ---- footer: what could not be seen, the bundle ----
function footer() {
	var sec = el(app, "footer", "panel foot"), dr = R.drops || {};
	if (dr.events || dr.stacks) {
		var w = el(sec, "p", "warn");
		w.text("Not everything was recorded: " + fmtCount(dr.events) + " events and " + fmtCount(dr.stacks) +
		       " stacks were dropped (see report.json drops.by_cause); raise the limits if this matters.");
	} else {
		el(sec, "p", null, "Nothing was dropped: every event and stack was recorded.");
	}
	el(sec, "p", null, "Files in this bundle: " + (D.files || []).filter(function (f) {
		return f.indexOf("/") < 0; }).join(", ") + ", snapshots/ (start and end).");
	el(sec, "p", "small", "Made by " + (R.version || "leaktrace") + ". This page is self-contained: it makes no network request.");
}

var sites = (R.sites || []).slice();
header();
verdict(sites);
overTime();
culprits(sites);
findings();
flameSection(sites);
goroutines();
footer();
document.body.setAttribute("data-rendered", "1");
})();
