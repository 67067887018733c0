import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createTypeScriptAnalyzer } from '../../src/core/analysis/typescript/index';
import type { CellAnalysis, CellAnalyzer } from '../../src/core/analysis/types';

let ts: CellAnalyzer;
let js: CellAnalyzer;
before(async () => {
  ts = await createTypeScriptAnalyzer('typescript');
  js = await createTypeScriptAnalyzer('javascript');
});

const analyze = (source: string): CellAnalysis => ts.analyzeCell(source, 0);
const uses = (source: string) => analyze(source).uses.map((u) => u.name);
const defines = (source: string) => analyze(source).defines;
const mutates = (source: string) => analyze(source).mutates;

describe('TypeScript analysis: free names', () => {
  it('reads of earlier cells are uses; globals are not', () => {
    assert.deepEqual(uses('console.log(a + Math.max(b, 1), JSON.stringify(process.env), structuredClone(c))'), ['a', 'b', 'c']);
  });

  it('reports the first occurrence with 1-based line and column', () => {
    assert.deepEqual(analyze('const k = 1;\n  foo(k, bar);\nbar()').uses, [
      { name: 'foo', line: 2, column: 3 },
      { name: 'bar', line: 2, column: 10 },
    ]);
  });

  it('a name bound earlier in the cell is not a use', () => {
    assert.deepEqual(uses('const a = 1;\nconsole.log(a);'), []);
  });

  it('TDZ: reading a let before its declaration in the cell is a use', () => {
    assert.deepEqual(uses('console.log(x);\nlet x = 2;'), ['x']);
    assert.deepEqual(defines('console.log(x);\nlet x = 2;'), ['x']);
  });

  it('a declaration that reads its own name reads the earlier value', () => {
    assert.deepEqual(uses('let total = total + 1;'), ['total']);
  });

  it('var hoisting: a read before the var statement reads the earlier cell', () => {
    assert.deepEqual(uses('log(v);\nvar v = 1;\nlog(v);').filter((n) => n !== 'log'), ['v']);
  });

  it('function declarations are hoisted: calling before the declaration is no use', () => {
    assert.deepEqual(uses('const r = helper(2);\nfunction helper(n: number) { return n * 2; }'), []);
  });

  it('closures read the cell binding whenever it is declared', () => {
    assert.deepEqual(uses('const f = () => later + 1;\nconst later = 3;\nf();'), []);
  });

  it('closures read free names of earlier cells', () => {
    assert.deepEqual(uses('const scaled = xs.map((v) => v * factor);'), ['xs', 'factor']);
  });

  it('parameters and locals of nested functions are not uses', () => {
    assert.deepEqual(uses('const f = function (a, { b, c = a }) { const d = a + b + c; return d; };'), []);
  });

  it('shadowing: an inner binding hides the outer name', () => {
    assert.deepEqual(uses('const g = (data: number[]) => data.length;\n{ const model = 1; console.log(model); }'), []);
    assert.deepEqual(uses('{ const x = 1; }\nconsole.log(x);'), ['x']);
  });

  it('type positions read nothing', () => {
    assert.deepEqual(
      uses('interface Row { id: Id }\ntype T = typeof other;\nconst r: Row = { id: 1 } as Row;\nconst n = v as unknown as Foo<Bar>;\nfunction k<U extends Base>(u: U): U { return u; }'),
      ['v'],
    );
  });

  it('property names, labels and object keys are not reads; shorthand properties are', () => {
    assert.deepEqual(uses('const o = { a: 1, [key]: 2, b };\nouter: for (;;) { break outer; }\nconsole.log(o.a, o.missing);'), ['key', 'b']);
  });

  it('catch parameters and loop variables are scoped to their block', () => {
    assert.deepEqual(uses('try { risky(); } catch (err) { console.log(err); }\nfor (let i = 0; i < n; i++) {}\nfor (const [k, v] of Object.entries(m)) { console.log(k, v); }'), ['risky', 'n', 'm']);
  });

  it('named function and class expressions bind their own name inside only', () => {
    assert.deepEqual(uses('const f = function fact(n: number): number { return n ? n * fact(n - 1) : 1; };\nconst C = class K { m() { return K; } };'), []);
  });

  it('arguments inside a function is no use', () => {
    assert.deepEqual(uses('const f = function () { return arguments.length; };'), []);
  });

  it('enum members refer to each other', () => {
    assert.deepEqual(uses('enum E { A = 1, B = A * 2 }\nconsole.log(E.B);'), []);
    assert.deepEqual(defines('enum E { A = 1, B = A * 2 }'), ['E']);
  });

  it('top-level await is allowed and reads its operand', () => {
    const a = analyze('const res = await fetch(url);\nfor await (const chunk of stream) { console.log(chunk); }');
    assert.deepEqual(a.diagnostics, []);
    assert.deepEqual(a.uses.map((u) => u.name), ['url', 'stream']);
  });
});

describe('TypeScript analysis: bindings', () => {
  it('const, let and var, in order', () => {
    assert.deepEqual(defines('let a = 1;\nconst b = 2;\nvar c = 3;'), ['a', 'b', 'c']);
  });

  it('destructuring binds every leaf name; defaults and computed keys are reads', () => {
    const a = analyze('const { p, q: [r, , ...s], [key]: t = fallback, ...rest } = data;');
    assert.deepEqual(a.defines, ['p', 'r', 's', 't', 'rest']);
    assert.deepEqual(a.uses.map((u) => u.name), ['key', 'fallback', 'data']);
  });

  it('block-scoped declarations are not top-level bindings; var inside blocks is', () => {
    assert.deepEqual(defines('if (flag) { const hidden = 1; var seen = hidden; }\nfor (var i = 0; i < 3; i++) {}'), ['seen', 'i']);
  });

  it('assigning an earlier cell\u2019s variable uses and rebinds it', () => {
    const a = analyze('count = 0;\ntotal += 5;\nn++;');
    assert.deepEqual(a.defines, ['count', 'total', 'n']);
    assert.deepEqual(a.uses.map((u) => u.name), ['count', 'total', 'n']);
  });

  it('destructuring assignment rebinds its targets', () => {
    const a = analyze('let a = 0;\n[a, b] = [1, 2];\n({ c, d: e } = obj);');
    assert.deepEqual(a.defines, ['a', 'b', 'c', 'e']);
    assert.deepEqual(a.uses.map((u) => u.name), ['b', 'c', 'e', 'obj']);
  });

  it('a closure assigning a received name rebinds it', () => {
    const a = analyze('items.forEach((i) => { sum += i; });');
    assert.deepEqual(a.defines, ['sum']);
    assert.deepEqual(a.uses.map((u) => u.name), ['items', 'sum']);
  });

  it('functions and classes are definitions, not bindings, and leave the body', () => {
    const a = analyze('/** Adds. */\nfunction add(a: number, b: number) { return a + b; }\n\nclass Point { constructor(public x: number) {} }\nconst p = new Point(add(1, 2));');
    assert.deepEqual(a.defines, ['p']);
    assert.deepEqual(a.definitions.map((d) => [d.name, d.kind, d.line]), [['add', 'function', 2], ['Point', 'class', 4]]);
    assert.equal(a.definitions[0].code, '/** Adds. */\nfunction add(a: number, b: number) { return a + b; }');
    assert.equal(a.body, 'const p = new Point(add(1, 2));');
  });

  it('a const bound to an arrow or function expression is a definition too (a function value could not be saved between steps)', () => {
    const a = analyze('const factor = 3;\nconst round2 = (x: number): number => Math.round(x * 100) / 100;\nconst scale = function (rows) { rows.push(factor); };\nlet later = () => 1;\nconst made = make(() => 2);');
    assert.deepEqual(a.defines, ['factor', 'later', 'made']);
    assert.deepEqual(a.definitions.map((d) => [d.name, d.kind, d.line, d.globals.map((g) => g.name)]), [['round2', 'function', 2, []], ['scale', 'function', 3, ['factor']]]);
    assert.equal(a.definitions[0].code, 'const round2 = (x: number): number => Math.round(x * 100) / 100;');
    assert.deepEqual(a.definitions[1].effects?.mutatesParameters, ['rows']);
    assert.equal(a.body, 'const factor = 3;\nlet later = () => 1;\nconst made = make(() => 2);');
  });

  it('definition globals: free names the body reads, not its locals, parameters or builtins', () => {
    const a = analyze('function score(rows: Row[]) {\n  const out = rows.map((r) => r.v * weight);\n  return Math.max(...out) + offset;\n}');
    assert.deepEqual(a.definitions[0].globals, [
      { name: 'weight', line: 2, column: 37 },
      { name: 'offset', line: 3, column: 29 },
    ]);
    assert.deepEqual(a.uses, []);
  });

  it('class globals include the base class and member initialisers', () => {
    const a = analyze('class Model extends Base {\n  rate = defaultRate;\n  static registry = new Map();\n  fit() { return train(this.rate); }\n}');
    assert.deepEqual(a.definitions[0].globals.map((g) => g.name), ['Base', 'defaultRate', 'train']);
  });

  it('a function assigning a module-level name is a global write', () => {
    assert.deepEqual(analyze('function reset() { counter = 0; let local = 1; local = 2; }').globalWrites, ['counter']);
  });

  it('export modifiers are dropped from the body', () => {
    const a = analyze('export const a = 1;\nexport function f() { return a; }');
    assert.equal(a.body, 'const a = 1;');
    assert.equal(a.definitions[0].code, 'function f() { return a; }');
  });

  it('literals: const x = <literal>, including negatives, arrays and objects', () => {
    assert.deepEqual(analyze('const lr = 0.01;\nconst name = "run";\nconst neg = -3;\nconst cfg = { a: [1, true, null] } as const;\nconst t = `plain`;\nconst z = f(1);').literals, {
      lr: 0.01,
      name: 'run',
      neg: -3,
      cfg: { a: [1, true, null] },
      t: 'plain',
    });
  });
});

describe('TypeScript analysis: mutation', () => {
  it('array and collection methods on received values', () => {
    assert.deepEqual(mutates('rows.push(1);\nseen.add(2);\ncache.set("k", 3);\nqueue.shift();\nnums.sort();'), ['rows', 'seen', 'cache', 'queue', 'nums']);
  });

  it('property and element assignment, compound and update on members', () => {
    assert.deepEqual(mutates('cfg.lr = 0.1;\ntable[key] = 2;\nstats.n += 1;\ncounter.value++;\nnested.a.b.c = 1;'), ['cfg', 'table', 'stats', 'counter', 'nested']);
  });

  it('delete and Object.assign targets', () => {
    assert.deepEqual(mutates('delete opts.debug;\nObject.assign(settings, { a: 1 });\nReflect.set(target, "k", 1);'), ['opts', 'settings', 'target']);
  });

  it('values the cell created itself are not received', () => {
    assert.deepEqual(mutates('const arr: number[] = [];\narr.push(1);\nconst o: any = {};\no.x = 1;'), []);
  });

  it('mutation inside a closure still changes the received value', () => {
    assert.deepEqual(mutates('src.forEach((v) => acc.push(v));'), ['acc']);
  });

  it('mutating a local that shadows a received name is no mutation', () => {
    assert.deepEqual(mutates('const f = (rows: number[]) => rows.push(1);\n{ const data = [1]; data.pop(); }'), []);
  });

  it('non-mutating methods and this-members are not mutations', () => {
    assert.deepEqual(mutates('const m = rows.map((r) => r * 2).filter(Boolean);\nconst s = items.slice(1);'), []);
  });

  it('a method of the notebook\'s own classes may change its receiver; builtin readers do not', () => {
    assert.deepEqual(mutates('graph.addEdge("util", "log");\nledger.record(order);'), ['graph', 'ledger']);
    assert.deepEqual(mutates('const n = rows.join(",").split(",").length + names.toSorted().indexOf("a") + when.getTime();'), []);
    assert.deepEqual(mutates('console.log(Math.max(1, 2), JSON.stringify(x));'), []);
  });

  it('an element fetched with get/at/find is the element itself: changing it changes the container', () => {
    assert.deepEqual(mutates('byMonth.get(3).push(order);\nusers.find((u) => u.id === 1).name = "x";'), ['byMonth', 'users']);
    assert.deepEqual(mutates('const list = groups.get("a");\nlist.push(1);'), ['groups']);
  });

  it('changing an element or an alias changes the received value: for-of, callbacks, const aliases', () => {
    assert.deepEqual(mutates('for (const item of low) item.qty += 1;'), ['low']);
    assert.deepEqual(mutates('records.forEach((r) => { r.tag = "x"; });'), ['records']);
    assert.deepEqual(mutates('const totals = rows.reduce((acc, row) => acc + row.n, 0);\nrows.map((row) => delete row.tmp);'), ['rows']);
    assert.deepEqual(mutates('const settings = config;\nsettings.precision = 1;'), ['config']);
    assert.deepEqual(mutates('const db = config.db;\nfunction f() { db.port = 1; }'), []);
    assert.deepEqual(mutates('const doubled = rows.map((r) => ({ ...r, x: 2 }));\nfor (const d of doubled) d.x = 1;\nconst n = count(rows);\nn.x = 1;'), []);
  });

  it('a container of the cell\'s own that stores received elements holds them: changing what it holds changes the value', () => {
    const grouping = 'const byCategory = {};\nfor (const r of catalogue) (byCategory[r.category] ??= []).push(r);\n';
    assert.deepEqual(mutates(grouping + 'for (const rows of Object.values(byCategory)) rows.forEach((r) => r.flags.push("x"));'), ['catalogue']);
    assert.deepEqual(mutates('const index = new Map();\nfor (const u of users) index.set(u.id, u);\nindex.get(1).name = "a";'), ['users']);
    assert.deepEqual(mutates('const picked = [];\npicked.push(first.id);\nconst copy = {};\ncopy.n = rows.length;\ncopy.n += 1;'), []);
  });

  it('a filtered, sorted or spread copy shares the received value\'s elements: changing one changes the value', () => {
    assert.deepEqual(mutates('rows.filter((r) => !r.price).forEach((r) => { r.price = 0; });'), ['rows']);
    assert.deepEqual(mutates('for (const r of [...items].sort(byId)) r.rank = 1;'), ['items']);
    assert.deepEqual(mutates('for (const v of Object.values(groups)) v.seen = true;\nfor (const [k, u] of users.entries()) u.k = k;'), ['groups', 'users']);
  });
});

describe('TypeScript analysis: what calling a notebook function changes', () => {
  const effects = (source: string) => analyze(source).definitions.map((d) => d.effects);

  it('a function that changes a parameter in place, directly or through its elements', () => {
    const [normalise] = effects('function normalise(rows, factor) {\n  for (const row of rows) row.value *= factor;\n  rows.sort((a, b) => a.value - b.value);\n}');
    assert.deepEqual(normalise, { parameters: ['rows', 'factor'], mutatesParameters: ['rows'], writesGlobals: [], mutatesGlobals: [], calls: [] });
    const [strip] = effects('function strip(rows: any[], fields: string[]) { rows.forEach((row) => fields.forEach((f) => delete row[f])); }');
    assert.deepEqual(strip?.mutatesParameters, ['rows']);
  });

  it('module values it changes or rebinds, and the calls it passes its parameters to', () => {
    const [tag] = effects('function tagAll(rows, tag) {\n  strip(rows, drop);\n  seen.add(tag);\n  count = count + 1;\n}');
    assert.deepEqual(tag, {
      parameters: ['rows', 'tag'],
      mutatesParameters: [],
      writesGlobals: ['count'],
      mutatesGlobals: ['seen'],
      calls: [{ callee: 'strip', positional: [['rows'], []], keywords: {} }],
    });
  });

  it('the cell records its calls with the received values passed', () => {
    assert.deepEqual(analyze('const local = [1];\nnormalise(records, scale, local);\nrecords.forEach((r) => log(r));').calls, [
      { callee: 'normalise', positional: [['records'], ['scale'], []], keywords: {} },
    ]);
  });
});

describe('TypeScript analysis: imports', () => {
  const importsOf = (source: string) => analyze(source).imports.map((i) => ({ names: i.names, modules: i.modules }));

  it('ESM default, named, namespace and side-effect imports', () => {
    assert.deepEqual(importsOf('import _ from "lodash";\nimport { a, b as c } from "@scope/pkg/sub";\nimport * as R from "ramda";\nimport "reflect-metadata";'), [
      { names: ['_'], modules: ['lodash'] },
      { names: ['a', 'c'], modules: ['@scope/pkg'] },
      { names: ['R'], modules: ['ramda'] },
      { names: [], modules: ['reflect-metadata'] },
    ]);
  });

  it('node builtins, with or without node:, and relative files name no package', () => {
    assert.deepEqual(importsOf('import fs from "node:fs";\nimport { readFile } from "fs/promises";\nimport path from "path";\nimport local from "./local.js";').map((i) => i.modules), [[], [], [], []]);
  });

  it('require, import x = require() and await import()', () => {
    const a = analyze('const { chunk } = require("lodash");\nimport os = require("os");\nconst dayjs = (await import("dayjs")).default;');
    assert.deepEqual(a.imports.map((i) => [i.names, i.modules, i.code]), [
      [['chunk'], ['lodash'], 'const { chunk } = require("lodash");'],
      [['os'], [], 'const os = require("os");'],
      [['dayjs'], ['dayjs'], 'const dayjs = (await import("dayjs")).default;'],
    ]);
    assert.equal(a.body, '');
    assert.deepEqual(a.defines, []);
  });

  it('Deno npm: and jsr: specifiers become packages with version pins', () => {
    const a = analyze('import { z } from "npm:zod@3";\nimport express from "npm:express";\nimport { join } from "jsr:@std/path@^1.0";\nimport { serve } from "https://deno.land/std/http/server.ts";');
    assert.deepEqual(a.imports.map((i) => i.modules), [['zod'], ['express'], ['jsr:@std/path'], []]);
    assert.deepEqual(a.requirements, ['zod@3', 'jsr:@std/path@^1.0']);
  });

  it('type-only imports bind nothing and leave the body', () => {
    const a = analyze('import type { Row } from "./types";\nimport { type Cfg, load } from "cfg-lib";\nconst r: Row = load();');
    assert.deepEqual(a.imports.map((i) => i.names), [['load']]);
    assert.equal(a.body, 'const r: Row = load();');
    assert.deepEqual(a.uses, []);
  });

  it('imported names are bound from the cell start (imports are hoisted)', () => {
    assert.deepEqual(uses('console.log(fs.existsSync("x"));\nimport fs from "node:fs";'), []);
  });

  it('a require mixed with other declarators stays code', () => {
    const a = analyze('const fs = require("fs"), n = 3;');
    assert.deepEqual(a.imports, []);
    assert.deepEqual(a.defines, ['fs', 'n']);
  });
});

describe('TypeScript analysis: errors and JavaScript', () => {
  it('a syntax error is a located diagnostic, not a throw', () => {
    const a = analyze('const ok = 1;\nlet broken = ;');
    assert.equal(a.diagnostics.length, 1);
    assert.equal(a.diagnostics[0].severity, 'error');
    assert.match(a.diagnostics[0].message, /syntax error: Expression expected/);
    assert.deepEqual([a.diagnostics[0].line, a.diagnostics[0].column, a.diagnostics[0].cell], [2, 14, 0]);
  });

  it('JavaScript cells parse as JavaScript and type annotations are errors', () => {
    assert.deepEqual(js.analyzeCell('const { a } = require("x");\nconst b = a + c;', 1).uses.map((u) => u.name), ['c']);
    const bad = js.analyzeCell('const n: number = 1;', 1);
    assert.equal(bad.diagnostics[0].severity, 'error');
    assert.deepEqual([bad.diagnostics[0].line, bad.diagnostics[0].column], [1, 10]);
  });

  it('an empty cell analyses to nothing', () => {
    const a = analyze('// just a comment\n');
    assert.deepEqual([a.body, a.uses, a.defines, a.diagnostics], ['// just a comment', [], [], []]);
  });
});
