// The two OPC parts every VSIX carries besides extension/…: extension.vsixmanifest (identity with
// the target platform, engine, categories, the package.json and README assets — the same fields
// @vscode/vsce writes) and [Content_Types].xml (one content type per file extension in the zip).
import * as path from 'node:path';

export interface ExtensionManifest {
  name: string;
  publisher: string;
  version: string;
  displayName?: string;
  description?: string;
  categories?: string[];
  keywords?: string[];
  engines: { vscode: string };
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

export function vsixManifest(pkg: ExtensionManifest, target: string, files: readonly string[]): string {
  const asset = (type: string, file: string): string =>
    files.includes(file) ? `\n    <Asset Type="${type}" Path="extension/${esc(file)}" Addressable="true" />` : '';
  const prop = (id: string, value: string): string => `\n      <Property Id="${id}" Value="${esc(value)}" />`;
  return `<?xml version="1.0" encoding="utf-8"?>
<PackageManifest Version="2.0.0" xmlns="http://schemas.microsoft.com/developer/vsx-schema/2011" xmlns:d="http://schemas.microsoft.com/developer/vsx-schema-design/2011">
  <Metadata>
    <Identity Language="en-US" Id="${esc(pkg.name)}" Version="${esc(pkg.version)}" Publisher="${esc(pkg.publisher)}" TargetPlatform="${esc(target)}" />
    <DisplayName>${esc(pkg.displayName ?? pkg.name)}</DisplayName>
    <Description xml:space="preserve">${esc(pkg.description ?? '')}</Description>
    <Tags>${esc((pkg.keywords ?? []).join(','))}</Tags>
    <Categories>${esc((pkg.categories ?? []).join(','))}</Categories>
    <GalleryFlags>Public</GalleryFlags>
    <Properties>${prop('Microsoft.VisualStudio.Code.Engine', pkg.engines.vscode)}${prop('Microsoft.VisualStudio.Code.ExtensionDependencies', '')}${prop('Microsoft.VisualStudio.Code.ExtensionPack', '')}${prop('Microsoft.VisualStudio.Code.ExtensionKind', 'workspace')}${prop('Microsoft.VisualStudio.Code.LocalizedLanguages', '')}${prop('Microsoft.VisualStudio.Services.GitHubFlavoredMarkdown', 'true')}${prop('Microsoft.VisualStudio.Services.Content.Pricing', 'Free')}
    </Properties>
  </Metadata>
  <Installation>
    <InstallationTarget Id="Microsoft.VisualStudio.Code" />
  </Installation>
  <Dependencies />
  <Assets>
    <Asset Type="Microsoft.VisualStudio.Code.Manifest" Path="extension/package.json" Addressable="true" />${asset('Microsoft.VisualStudio.Services.Content.Details', 'README.md')}${asset('Microsoft.VisualStudio.Services.Content.Changelog', 'CHANGELOG.md')}
  </Assets>
</PackageManifest>
`;
}

const TYPES: Readonly<Record<string, string>> = {
  '.json': 'application/json',
  '.js': 'application/javascript',
  '.md': 'text/markdown',
  '.css': 'text/css',
  '.vsixmanifest': 'text/xml',
  '.xml': 'text/xml',
  '.txt': 'text/plain',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export function contentTypes(zipNames: readonly string[]): string {
  const exts = [
    ...new Set(zipNames.map((n) => path.posix.extname(n).toLowerCase()).filter((e) => e.length > 1)),
  ].sort();
  const defaults = exts
    .map((e) => `<Default Extension="${esc(e)}" ContentType="${TYPES[e] ?? 'application/octet-stream'}"/>`)
    .join('');
  return `<?xml version="1.0" encoding="utf-8"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">${defaults}</Types>\n`;
}
