// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// A JavaScript leak for leaktrace's JIT tests (node): leakyRetainer keeps
// every array it makes, in code V8 compiles at run time.
// Prints "ready pid=N", then runs for at most LIMIT_S seconds. With
// LEAK_ON_SIGNAL=1 the leak starts at the first SIGUSR2 (a test sends it
// once its tracer is attached), not at once.
"use strict";
const LIMIT_S = Number(process.env.LIMIT_S || 60);
const keep = [];

function leakyRetainer(n) {
	for (let i = 0; i < n; i++)
		keep.push(new Array(256).fill(i));
}

function start() {
	setInterval(() => leakyRetainer(50), 100);
}

if (process.env.LEAK_ON_SIGNAL === "1")
	process.once("SIGUSR2", start);
else
	start();
setTimeout(() => process.exit(0), LIMIT_S * 1000);
process.stdout.write(`ready pid=${process.pid}\n`);
