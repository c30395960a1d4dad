// Read a 3D Tiles 1.1 tileset back with loaders.gl (the loader behind deck.gl's Tile3DLayer).
// Usage: node read_tiles.mjs TILESET_JSON
// Prints one JSON object: {tiles, contents: [{uri, leaf, tables: [{class, name, count,
// properties: {id: [values]}}], featureIds: [{table, count, min, max}]}]}.
// Every content of the tree is parsed with Tiles3DLoader (glTF decoded, EXT_mesh_features
// and EXT_structural_metadata decoded by @loaders.gl/gltf); external tilesets (a content
// .json) are read the same way and their tiles counted; exit 1 on any error.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "@loaders.gl/core";
import { Tiles3DLoader } from "@loaders.gl/3d-tiles";

const tilesetPath = path.resolve(process.argv[2]);
const options = { "3d-tiles": { loadGLTF: true, isTileset: false }, gltf: { loadImages: false } };

const plain = (value) => (typeof value === "bigint" ? value.toString() : value);
const asArray = (data) => Array.from(data ?? [], (v) => (ArrayBuffer.isView(v) ? Array.from(v, plain) : plain(v)));

async function readContent(file, uri) {
  const bytes = await readFile(file);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const tile = await parse(buffer, Tiles3DLoader, options);
  const gltf = tile.gltf ?? tile.content?.gltf;
  if (!gltf) throw new Error(`${uri}: Tiles3DLoader returned no glTF`);
  const metadata = gltf.extensions?.EXT_structural_metadata;
  if (!metadata) throw new Error(`${uri}: no EXT_structural_metadata after decoding`);
  const tables = metadata.propertyTables.map((table) => ({
    class: table.class,
    name: metadata.schema.classes[table.class].name,
    count: table.count,
    properties: Object.fromEntries(Object.entries(table.properties).map(([id, p]) => [id, asArray(p.data)])),
  }));
  const featureIds = [];
  for (const mesh of gltf.meshes ?? []) {
    for (const primitive of mesh.primitives) {
      for (const ids of primitive.extensions?.EXT_mesh_features?.featureIds ?? []) {
        const values = ids.data ?? primitive.attributes[`_FEATURE_ID_${ids.attribute}`]?.value;
        if (!values) throw new Error(`${uri}: feature ids of a primitive not decoded`);
        let min = Infinity, max = -Infinity;
        for (const v of values) { if (v < min) min = v; if (v > max) max = v; }
        featureIds.push({ table: ids.propertyTable, count: ids.featureCount, min, max });
      }
    }
  }
  return { uri, tables, featureIds };
}

function walk(tile, found) {
  found.push(tile);
  for (const child of tile.children ?? []) walk(child, found);
  return found;
}

async function readTileset(file, found) {
  const bytes = await readFile(file);
  const tileset = await parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    Tiles3DLoader, { ...options, "3d-tiles": { isTileset: true }, baseUri: file });
  if (tileset.type !== "TILES3D" || !tileset.root) throw new Error(`${file}: not read as a 3D Tiles tileset`);
  const tiles = walk(tileset.root, []);
  found.tiles += tiles.length;
  for (const tile of tiles) {
    const uri = tile.content?.uri ?? tile.contentUrl;
    if (!uri) continue;
    const relative = uri.startsWith(path.dirname(file)) ? path.relative(path.dirname(file), uri) : uri;
    const content = path.resolve(path.dirname(file), decodeURIComponent(relative));
    if (content.endsWith(".json")) {
      await readTileset(content, found);
      continue;
    }
    const read = await readContent(content, path.relative(path.dirname(tilesetPath), content));
    read.leaf = !(tile.children && tile.children.length);
    found.contents.push(read);
  }
  return found;
}

const found = await readTileset(tilesetPath, { tiles: 0, contents: [] });
process.stdout.write(JSON.stringify(found) + "\n");
