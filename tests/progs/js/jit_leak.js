// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// A JavaScript leak for leaktrace's JIT tests (node): leakyRetainer keeps
// every array it makes, in code V8 compiles at run time.
// Prints "ready pid=N", then runs for at most LIMIT_S seconds.
"use strict";
const LIMIT_S = Number(process.env.LIMIT_S || 60);
const keep = [];

function leakyRetainer(n) {
	for (let i = 0; i < n; i++)
		keep.push(new Array(256).fill(i));
}

setInterval(() => leakyRetainer(50), 100);
setTimeout(() => process.exit(0), LIMIT_S * 1000);
process.stdout.write(`ready pid=${process.pid}\n`);
