/**
 * The import rules docs/architecture.md states, checked by `make check` (make boundaries). Each
 * rule names what it protects; test/contract/boundaries.test.ts plants a violation of each in a
 * scratch copy of the tree and shows this configuration refuses it.
 *
 * Layers of a component (src/<component>/): `routes.ts` is HTTP (and `routes-v2.ts`, the same
 * operations in a later API version), `repository.ts` is data, every other file is the domain (its
 * use cases, its queries, its public entry `index.ts`).
 */
const COMPONENTS = '(accounts|api-keys|customers|events|oauth|ops|payments|processor|reconciliation|refunds|webhooks)';

module.exports = {
  forbidden: [
    {
      name: 'domain-knows-no-framework',
      comment:
        'A use case or service names neither Express, knex nor the HTTP layer: it is called with plain values and ' +
        'works in a Transaction from src/platform/db.ts, so it can be driven by anything and tested without HTTP.',
      severity: 'error',
      from: { path: `^src/${COMPONENTS}/`, pathNot: '/(routes|routes-v[0-9]|repository)\\.ts$|/simulator/' },
      to: { path: ['^node_modules/(express|knex)/', '^src/platform/http/'], dependencyTypesNot: [] },
    },
    {
      name: 'only-data-access-knows-knex',
      comment:
        'knex is the data-access layer: repositories, migrations, and the platform modules that open the database ' +
        '(db.ts), announce changes through it (notify.ts) and read its secrets (server-secrets.ts). Everything else ' +
        'passes a Db or a Transaction from src/platform/db.ts.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['/repository\\.ts$', '^src/platform/(db|notify|server-secrets)\\.ts$', '^src/platform/migrations/'] },
      to: { path: '^node_modules/knex/' },
    },
    {
      name: 'layers-flow-one-way',
      comment: 'routes → domain → repository: a repository knows no use case or route, and the domain knows no route.',
      severity: 'error',
      from: { path: `^src/${COMPONENTS}/` },
      to: { path: `^src/${COMPONENTS}/(routes|routes-v[0-9])\\.ts$` },
    },
    {
      name: 'repository-knows-no-domain',
      comment: 'A repository reads and writes rows; it calls no use case, service or route.',
      severity: 'error',
      from: { path: `^src/${COMPONENTS}/repository\\.ts$` },
      to: { path: `^src/${COMPONENTS}/`, pathNot: `^src/${COMPONENTS}/repository\\.ts$` },
    },
    {
      name: 'components-meet-at-their-entry',
      comment:
        "A component reaches another only through that component's public entry (src/<component>/index.ts), " +
        "never its repository or its internals, so each component decides what it offers.",
      severity: 'error',
      from: { path: `^src/${COMPONENTS}/` },
      to: { path: `^src/${COMPONENTS}/`, pathNot: ['^src/$1/', `^src/${COMPONENTS}/index\\.ts$`] },
    },
    {
      name: 'processor-messages-stay-in-the-adapter',
      comment:
        "spec/processor.proto's generated messages are the processor component's own: the adapter translates them " +
        'into plain values for the payments and refunds it serves, so a change to the wire stops at src/processor/.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/processor/' },
      to: { path: '^generated/processor/' },
    },
    {
      name: 'platform-knows-no-component',
      comment: 'src/platform/ is what every component shares; it depends on none of them.',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: `^src/${COMPONENTS}/` },
    },
    {
      name: 'sdk-stands-alone',
      comment: 'The SDK is a package of its own: it imports nothing outside sdk/ but its dependencies and Node.',
      severity: 'error',
      from: { path: '^sdk/src/' },
      to: { pathNot: ['^sdk/', '^node_modules/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'api-diff-stands-alone',
      comment: 'tools/api-diff is a tool of its own: it imports nothing outside itself but its dependencies and Node.',
      severity: 'error',
      from: { path: '^tools/api-diff/src/' },
      to: { pathNot: ['^tools/api-diff/', '^node_modules/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'console-talks-through-the-sdk',
      comment:
        "The console is a browser app: it reaches the API over HTTP through the SDK's public entry (sdk/src/index.ts), " +
        "never the server's code, the generated server types or the SDK's internals.",
      severity: 'error',
      from: { path: '^console/src/' },
      to: { path: ['^src/', '^generated/', '^sdk/src/'], pathNot: '^sdk/src/index\\.ts$' },
    },
    {
      name: 'cli-goes-through-the-sdk',
      comment:
        "The CLI is a package of its own on top of the SDK: it imports the SDK's public entry (@remit/sdk), " +
        'its dependencies and Node, never the server, the generated server types, the SDK\'s internals or the scripts.',
      severity: 'error',
      from: { path: '^cli/src/' },
      to: { path: ['^src/', '^generated/', '^sdk/', '^console/', '^tools/', '^scripts/'], pathNot: '^sdk/src/index\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'A cycle makes the order modules load in matter; none is needed.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Resolve through links as they are named, so a tree whose node_modules is a link checks the same.
    preserveSymlinks: true,
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
