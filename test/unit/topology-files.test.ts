import { readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportTopology, loadTopology, type LoadedTopology } from '../../src/topology/index.js';
import { expectPeerlabError, tempFile } from './topology-helpers.js';

import { ZOO_DIR as ZOO } from '../zoo.js';
const zooMaps = [
  ...new Set(
    readdirSync(ZOO)
      .filter((file) => /\.(gml|graphml)$/.test(file))
      .map((file) => file.replace(/\.\w+$/, '')),
  ),
].sort();

// Simple-graph counts: Uninett2011 stores 98 edges of which 2 repeat a pair.
const EXPECTED: Record<string, [nodes: number, edges: number]> = {
  Nordu1989: [7, 6],
  Abilene: [11, 14],
  Internet2: [20, 26],
  Arpanet19728: [29, 32],
  Bics: [33, 48],
  Geant2012: [40, 61],
  Uninett2011: [69, 96],
  GtsCe: [149, 193],
};

const load = (spec: string, options: { weights?: string; allowDisconnected?: boolean } = {}): Promise<LoadedTopology> =>
  loadTopology(spec, { seed: 1, ...options });

describe('Topology Zoo maps', () => {
  it('finds the zoo maps', () => {
    expect(zooMaps.length).toBeGreaterThanOrEqual(8);
  });

  it.each(zooMaps)('%s loads from GML and GraphML to the same simple graph', async (map) => {
    const gml = await load(join(ZOO, `${map}.gml`));
    const graphml = await load(join(ZOO, `${map}.graphml`));
    expect(gml.kind).toBe('file');
    for (const { graph } of [gml, graphml]) {
      expect(graph.nodes()).toEqual(Array.from({ length: graph.order }, (_, i) => String(i)));
      graph.forEachEdge((_edge, attributes, source, target) => {
        expect(source).not.toBe(target);
        expect(Number.isFinite(attributes.weight)).toBe(true);
      });
    }
    expect([graphml.graph.order, graphml.graph.size]).toEqual([gml.graph.order, gml.graph.size]);
    expect(graphml.graph.mapNodes((_node, attributes) => attributes)).toEqual(gml.graph.mapNodes((_node, attributes) => attributes));
    expect(graphml.notes).toEqual(gml.notes);
    if (EXPECTED[map]) expect([gml.graph.order, gml.graph.size]).toEqual(EXPECTED[map]);
  });

  it('reports merged parallel edges and nodes without coordinates', async () => {
    const uninett = await load(join(ZOO, 'Uninett2011.graphml'));
    expect(uninett.notes).toContainEqual(expect.stringMatching(/^merged 2 parallel edges \(kept the first\): "HiH Harstad" – "UiTo"/));
    expect(uninett.notes).toContainEqual(expect.stringMatching(/^3 of 69 nodes have no coordinates: "NORDUnet Stockholm"/));
    const nordu = await load(join(ZOO, 'Nordu1989.gml'));
    expect(nordu.notes).toEqual(['2 of 7 nodes have no coordinates: "EUROPE", "USA"']);
    expect(nordu.graph.getNodeAttributes('0')).toEqual({ label: 'Trondheim', latitude: 63.43049, longitude: 10.39506 });
  });
});

describe('GML', () => {
  it('reads string ids, entities, comments and nested lists; drops loops and merges parallel edges', async () => {
    const file = tempFile(
      'small.gml',
      `# a comment before the graph
graph [
  directed 1
  node [ id "a" label "Say &quot;hi&quot;" graphics [ x 1.0 y -2e3 ] Latitude 10 Longitude 20 ]
  node [ id "b" label "Two
lines" ]
  node [ id "c" ]   # no label: the id is the label
  edge [ source "a" target "b" speed 5 ]
  edge [ source "b" target "a" speed 7 ]
  edge [ source "c" target "c" ]
  edge [ source "b" target "c" speed 1 ]
]`,
    );
    const { graph, notes } = await load(file, { weights: 'attr:speed' });
    expect(graph.mapNodes((_node, attributes) => attributes.label)).toEqual(['Say "hi"', 'Two\nlines', 'c']);
    expect(graph.getNodeAttributes('0')).toMatchObject({ latitude: 10, longitude: 20 });
    expect(graph.mapEdges((_edge, attributes, source, target) => [source, target, attributes.weight])).toEqual([
      ['0', '1', 5],
      ['1', '2', 1],
    ]);
    expect(notes).toEqual([
      'read the directed edges as undirected',
      'numbered the nodes 0..2 in file order (labels keep the names)',
      'dropped 1 self-loop (at "c")',
      'merged 1 parallel edge (kept the first): "Two\\nlines" – "Say \\"hi\\""',
      '2 of 3 nodes have no coordinates: "Two\\nlines", "c"',
    ]);
  });

  it('keeps an ampersand that starts no entity, as GML writers do not escape it', async () => {
    const { graph } = await load(tempFile('amp.gml', 'graph [ node [ id 0 label "AT&T &lt;3" ] ]'));
    expect(graph.getNodeAttribute('0', 'label')).toBe('AT&T <3');
  });

  it('decodes the HTML entities GML writes non-ASCII characters as', async () => {
    const { graph } = await load(tempFile('names.gml', 'graph [ node [ id 0 label "M&uuml;nchen &#246; &#x4E2D;" ] node [ id 1 ] edge [ source 0 target 1 ] ]'));
    expect(graph.getNodeAttribute('0', 'label')).toBe('München ö 中');
  });

  it.each([
    ['graph [ node [ id 0 ]', /broken\.gml:1: the list opened here is never closed/],
    ['graph [ node [ id 0 ] ] ]', /broken\.gml:1: unexpected "\]"/],
    ['graph [\n node [ id 0 label "open ]\n]', /broken\.gml:2: unterminated string/],
    ['graph [\n node [ id 0 ]\n edge [ source 0 ]\n]', /broken\.gml:3: edge has no target/],
    ['graph [\n node [ id 0 ]\n edge [ source 0 target 9 ]\n]', /broken\.gml:3: .*refers to node "9", which is not declared/],
    ['graph [ node [ id 0 ] node [ id 0 ] ]', /broken\.gml:1: node id "0" is declared twice/],
    ['graph [ node [ id 0 label ] ]', /key "label" has no value/],
    ['graph [ node [ id 0 } ]', /unexpected "}"/],
    ['creator "nobody"', /broken\.gml: has no `graph \[ … \]` block/],
  ])('rejects %j naming the file and line', async (content, pattern) => {
    await expectPeerlabError(load(tempFile('broken.gml', content)), pattern);
  });
});

describe('GraphML', () => {
  it('types data by its keys, applies defaults and keeps file order', async () => {
    const file = tempFile(
      'small.graphml',
      `<?xml version="1.0" encoding="UTF-8"?>
<!-- keys first -->
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="d0" for="node" attr.name="label" attr.type="string"/>
  <key id="d1" for="node" attr.name="latitude" attr.type="double"/>
  <key id="d2" for="node" attr.name="longitude" attr.type="double"/>
  <key id="d3" for="edge" attr.name="cost" attr.type="int"><default>7</default></key>
  <graph edgedefault="undirected">
    <node id="n9"><data key="d0">A &amp; B</data><data key="d1">1.5</data><data key="d2">2.5</data></node>
    <node id="n1"><data key="d0"><![CDATA[<C>]]></data></node>
    <edge source="n9" target="n1"><data key="d3">3</data></edge>
    <edge source="n1" target="n9"/>
  </graph>
</graphml>`,
    );
    const { graph, notes } = await load(file, { weights: 'attr:cost' });
    expect(graph.mapNodes((_node, attributes) => attributes)).toEqual([
      { label: 'A & B', latitude: 1.5, longitude: 2.5 },
      { label: '<C>' },
    ]);
    expect(graph.getEdgeAttribute('0', 'weight')).toBe(3);
    expect(notes).toContain('merged 1 parallel edge (kept the first): "<C>" – "A & B"');
  });

  it.each([
    [
      '<graphml><graph><node id="a"></graph></graphml>',
      /broken\.graphml:1: not well-formed XML: Unexpected close tag/,
    ],
    ['<graphml>\n<graph>\n<node id="a"/>\n', /broken\.graphml:4: not well-formed XML: <graph> from line 2 is never closed/],
    ['<graphml><graph><node id="a>\n</graph></graphml>', /not well-formed XML/],
    ['<graphml>\n<graph><data>&nope;</data></graph></graphml>', /broken\.graphml:2: not well-formed XML: Invalid character entity/],
    ['<graphml>\n<graph>\n<node id="AT&T"/></graph></graphml>', /broken\.graphml:3: not well-formed XML: Invalid character in entity name/],
    ['<graphml><graph/></graphml>\n<graphml/>', /broken\.graphml:2: not well-formed XML: second root element <graphml>/],
    ['just text', /broken\.graphml:1: not well-formed XML: Non-whitespace before first tag/],
    ['', /broken\.graphml:1: not well-formed XML: no XML element found/],
    ['<gexf><graph/></gexf>', /expected a <graphml> document, found <gexf>/],
    [
      '<graphml>\n<graph>\n<node id="a"/>\n<edge source="a" target="b"/>\n</graph></graphml>',
      /broken\.graphml:4: .*refers to node "b", which is not declared/,
    ],
    ['<graphml><graph><edge source="a"/></graph></graphml>', /<edge> has no target attribute/],
    [
      '<graphml><key id="k" for="node" attr.name="x" attr.type="double"/><graph><node id="a"><data key="k">east</data></node></graph></graphml>',
      /value "east" of x is not a number, though its key says double/,
    ],
  ])('rejects %j naming the file', async (content, pattern) => {
    await expectPeerlabError(load(tempFile('broken.graphml', content)), pattern);
  });
});

describe('edge lists', () => {
  it('reads whitespace and comma separated edges with optional weights and comments', async () => {
    const file = tempFile('net.csv', '# u,v,w\nalpha,beta,2.5\n\nbeta gamma 4 # trailing comment\ngamma,alpha,1\nalpha alpha 9\n');
    const { graph, notes } = await load(file);
    expect(graph.mapNodes((_node, attributes) => attributes.label)).toEqual(['alpha', 'beta', 'gamma']);
    expect(graph.mapEdges((_edge, attributes) => attributes.weight)).toEqual([2.5, 4, 1]);
    expect(notes).toContain('kept the weight attribute of the file (pass --weights to choose others)');
    expect(notes).toContain('dropped 1 self-loop (at "alpha")');
  });

  it('keeps ids that are already 0..n-1 and otherwise numbers nodes by first appearance', async () => {
    const kept = await load(tempFile('kept.edges', '2 0\n0 1\n'));
    expect(kept.graph.mapEdges((_edge, _attributes, source, target) => `${source}-${target}`)).toEqual(['2-0', '0-1']);
    expect(kept.notes).toEqual([]);
    const renumbered = await load(tempFile('one-based.txt', '1 2\n2 3\n'));
    expect(renumbered.graph.mapNodes((node, attributes) => `${node}=${attributes.label}`)).toEqual(['0=1', '1=2', '2=3']);
    expect(renumbered.notes).toContain('numbered the nodes 0..2 in file order (labels keep the names)');
  });

  it.each([
    ['0 1\n1 2 3 4\n', /broken\.edgelist:2: expected "u v \[weight\]", found 4 fields/],
    ['0 1\n2\n', /broken\.edgelist:2: expected "u v \[weight\]", found 1 field/],
    ['source,target,weight\n0,1,2\n', /broken\.edgelist:1: weight "weight" is not a number — .*comment out a header line/],
  ])('rejects %j naming the file and line', async (content, pattern) => {
    await expectPeerlabError(load(tempFile('broken.edgelist', content)), pattern);
  });
});

describe('graphology JSON', () => {
  it('round-trips an export, weights and labels included', async () => {
    for (const [spec, weights] of [
      ['ba:n=40,m=2', 'uniform:1..5'],
      [join(ZOO, 'Abilene.gml'), 'geo'],
    ] as const) {
      const original = await loadTopology(spec, { seed: 9, weights });
      const file = tempFile('topology.json', JSON.stringify(exportTopology(original.graph)));
      // Another seed on purpose: the stored weights are kept, not drawn again.
      const reloaded = await loadTopology(file, { seed: 10 });
      expect(exportTopology(reloaded.graph)).toEqual(exportTopology(original.graph));
    }
  });

  it.each([
    ['{"nodes": [', /broken\.json: is not valid JSON/],
    ['{"edges": []}', /broken\.json: field nodes: /],
    ['{"nodes": [{"key": "0"}, {"attributes": {}}]}', /broken\.json: field nodes\[1\]\.key: /],
    ['{"nodes": [{"key": "0"}], "edges": [{"source": "0", "target": true}]}', /broken\.json: field edges\[0\]\.target: /],
    ['{"nodes": [{"key": "0"}], "edges": [{"source": "0", "target": "1"}]}', /broken\.json: .*refers to node "1", which is not declared/],
  ])('rejects %j naming the file and the field', async (content, pattern) => {
    await expectPeerlabError(load(tempFile('broken.json', content)), pattern);
  });
});

describe('file errors', () => {
  it('names a missing file, an unknown extension and an empty graph', async () => {
    await expectPeerlabError(load('/nonexistent/topo.graphml'), /cannot read topology file \/nonexistent\/topo\.graphml: no such file/);
    const odd = tempFile('topology.xyz', '0 1\n');
    await expectPeerlabError(load(odd), new RegExp(`cannot tell the format of topology file .*${basename(odd)}.*\\.graphml`));
    await expectPeerlabError(load(tempFile('empty.txt', '# nothing here\n')), /has no nodes/);
  });

  it('refuses a disconnected graph unless allowed', async () => {
    const file = tempFile('split.txt', '0 1\n1 2\n3 4\n5 6\n');
    const error = await expectPeerlabError(load(file), /is disconnected: 3 connected components \(sizes 3, 2, 2\)/);
    expect(error.hint).toBe('pass --allow-disconnected to run it anyway');
    const allowed = await load(file, { allowDisconnected: true });
    expect(allowed.notes).toContain('disconnected, allowed: 3 connected components (sizes 3, 2, 2)');
  });

  it('writes generated JSON that the loader accepts unchanged', async () => {
    const original = await loadTopology('grid:rows=3,cols=3', { seed: 2 });
    const file = tempFile('grid.json', '');
    writeFileSync(file, JSON.stringify(exportTopology(original.graph), null, 2));
    const reloaded = await loadTopology(file, { seed: 2 });
    expect(reloaded.kind).toBe('file');
    expect(exportTopology(reloaded.graph)).toEqual(exportTopology(original.graph));
  });
});
