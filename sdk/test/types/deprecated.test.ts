/**
 * What an editor shows: the TypeScript language service (the one editors run) reports exactly the
 * methods of deprecated operations as deprecated (so they are struck through), and their hover
 * text names the successor as it is called and the sunset date. The v2 methods and every other
 * method are not deprecated.
 */
import { expect } from 'chai';
import path from 'node:path';
import ts from 'typescript';
import { operationSpecs } from '../../src/generated/resources.js';
import { Remit } from '../../src/index.js';

const HERE = import.meta.dirname;
const PROBE = path.join(HERE, 'deprecated-probe.ts');

/** Every `namespace.method` of the client, e.g. `payments.create`, `v2.refunds.list`. */
function clientMethods(): string[] {
  const remit = new Remit({ apiKey: 'sk_probe' }) as unknown as Record<string, Record<string, unknown>>;
  const namespaces: [string, Record<string, unknown>][] = ['apiKeys', 'customers', 'events', 'payments', 'refunds'].map((n) => [n, remit[n]!]);
  const v2 = remit.v2 as unknown as Record<string, Record<string, unknown>>;
  namespaces.push(...Object.keys(v2).map((n): [string, Record<string, unknown>] => [`v2.${n}`, v2[n]!]));
  return namespaces.flatMap(([name, ns]) => Object.keys(ns).map((m) => `${name}.${m}`)).sort();
}

function languageService(source: string): ts.LanguageService {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  };
  const host: ts.LanguageServiceHost = {
    getCompilationSettings: () => options,
    getScriptFileNames: () => [PROBE],
    getScriptVersion: () => '1',
    getScriptSnapshot: (file) => {
      const text = file === PROBE ? source : ts.sys.readFile(file);
      return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    },
    getCurrentDirectory: () => HERE,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: (file) => file === PROBE || ts.sys.fileExists(file),
    readFile: (file) => (file === PROBE ? source : ts.sys.readFile(file)),
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  };
  return ts.createLanguageService(host, ts.createDocumentRegistry());
}

describe('@remit/sdk in an editor: deprecated methods', function () {
  this.timeout(60_000);

  it('strikes through exactly the methods of deprecated operations, naming the successor and the sunset', () => {
    const methods = clientMethods();
    expect(methods).to.include.members(['payments.create', 'v2.payments.create', 'v2.refunds.retrieve']);
    const lines = methods.map((m) => `remit.${m};`);
    const source = `import type { Remit } from '../../src/index.js';\ndeclare const remit: Remit;\n${lines.join('\n')}\n`;
    const service = languageService(source);
    expect(service.getSemanticDiagnostics(PROBE).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')), 'the probe compiles').to.deep.equal([]);

    // 6385: "'x' is deprecated." — what editors draw as a strike-through.
    const struck = service
      .getSuggestionDiagnostics(PROBE)
      .filter((d) => d.reportsDeprecated)
      .map((d) => {
        const { line } = ts.getLineAndCharacterOfPosition(service.getProgram()!.getSourceFile(PROBE)!, d.start!);
        return methods[line - 2]!;
      })
      .sort();
    expect(struck).to.deep.equal([
      'payments.cancel',
      'payments.capture',
      'payments.create',
      'payments.list',
      'payments.retrieve',
      'refunds.create',
      'refunds.list',
      'refunds.retrieve',
    ]);

    // The hover text: the successor as it is called, and the sunset, from the spec.
    const deprecatedRows = Object.values(operationSpecs).filter((o) => 'deprecation' in o);
    expect(deprecatedRows).to.have.length(struck.length);
    for (const method of struck) {
      const line = lines.indexOf(`remit.${method};`) + 2;
      const position = ts.getPositionOfLineAndCharacter(service.getProgram()!.getSourceFile(PROBE)!, line, `remit.${method}`.length - 1);
      const tags = service.getQuickInfoAtPosition(PROBE, position)?.tags ?? [];
      const text = ts.displayPartsToString(tags.find((t) => t.name === 'deprecated')?.text);
      const successor = `v2.${method}`;
      expect(methods, method).to.include(successor);
      expect(text, method).to.match(new RegExp(`^Use \`client\\.${successor.replace(/\./g, '\\.')}\\(\\)\` \\(\`\\w+V2\`\\); this operation stops answering on 2027-12-31 \\(its Sunset\\)\\.$`));
    }
  });
});
