/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The report page's scripts and style, embedded at build time so that
 * report.html is one self-contained file: d3 from Debian's libjs-d3
 * (D3_JS, set by the Makefile) and our report.js and report.css. */
	.section .rodata
	.balign 16
	.globl lt_asset_d3, lt_asset_d3_end
lt_asset_d3:
	.incbin D3_JS
lt_asset_d3_end:
	.globl lt_asset_js, lt_asset_js_end
lt_asset_js:
	.incbin REPORT_JS
lt_asset_js_end:
	.globl lt_asset_css, lt_asset_css_end
lt_asset_css:
	.incbin REPORT_CSS
lt_asset_css_end:
	.section .note.GNU-stack,"",@progbits
