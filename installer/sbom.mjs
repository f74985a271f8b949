// The SBOM written beside the image: SPDX 2.3 JSON listing, per architecture, the image, the
// plugin, the Node binary in its single executable and the Debian packages whose files the
// image holds, with versions, package URLs and the hashes the build checked.
import { DEBIAN, NODE_VERSION } from './pins.mjs';
import { debFile } from './fetch.mjs';

const id = (...parts) => `SPDXRef-${parts.join('-').replace(/[^A-Za-z0-9.-]/g, '-')}`;
const purlVersion = (v) => encodeURIComponent(v);

/**
 * @param {{ name: string, version: string, created: string, indexDigest: string, revision: string, source?: string,
 *   images: { arch: string, digest: string, node: { name: string, integrity: string, tarball: string }, debs: { deb: object }[], debArch: string }[] }} o
 */
export function spdx({ name, version, created, indexDigest, revision, source, images }) {
  const packages = [];
  const relationships = [];
  const rootId = id('index');
  packages.push({
    SPDXID: rootId,
    name,
    versionInfo: version,
    downloadLocation: 'NOASSERTION',
    primaryPackagePurpose: 'CONTAINER',
    checksums: [{ algorithm: 'SHA256', checksumValue: indexDigest.slice('sha256:'.length) }],
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:oci/${name}@${encodeURIComponent(indexDigest)}` }],
  });
  relationships.push({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: rootId });
  const plugin = id('edge-credential-provider', version);
  packages.push({
    SPDXID: plugin,
    name: 'edge-credential-provider',
    versionInfo: version,
    downloadLocation: source ? `git+${source}@${revision}` : 'NOASSERTION',
    licenseDeclared: 'Apache-2.0',
    primaryPackagePurpose: 'APPLICATION',
  });
  for (const image of images) {
    const imageId = id('image', image.arch);
    packages.push({
      SPDXID: imageId,
      name: `${name} linux/${image.arch}`,
      versionInfo: version,
      downloadLocation: 'NOASSERTION',
      primaryPackagePurpose: 'CONTAINER',
      checksums: [{ algorithm: 'SHA256', checksumValue: image.digest.slice('sha256:'.length) }],
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: `pkg:oci/${name}@${encodeURIComponent(image.digest)}?arch=${image.arch}`,
        },
      ],
    });
    relationships.push({ spdxElementId: rootId, relationshipType: 'CONTAINS', relatedSpdxElement: imageId });
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: plugin });
    const nodeId = id('npm', image.node.name, NODE_VERSION);
    packages.push({
      SPDXID: nodeId,
      name: 'node',
      versionInfo: NODE_VERSION,
      downloadLocation: `https://registry.npmjs.org/${image.node.name}/-/${image.node.name}-${NODE_VERSION}.tgz`,
      checksums: [{ algorithm: 'SHA512', checksumValue: Buffer.from(image.node.integrity.slice('sha512-'.length), 'base64').toString('hex') }],
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:npm/${image.node.name}@${NODE_VERSION}` }],
      licenseDeclared: 'NOASSERTION',
      comment: `Node.js ${NODE_VERSION} for linux/${image.arch}, stripped, with the plugin injected as its single-executable blob`,
    });
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: nodeId });
    for (const { deb } of image.debs) {
      const debId = id('deb', deb.name, deb.version, image.debArch);
      packages.push({
        SPDXID: debId,
        name: deb.name,
        versionInfo: deb.version,
        downloadLocation: `${DEBIAN.mirror}/${deb.pool}/${debFile(deb.name, deb.version, image.debArch)}`,
        checksums: [{ algorithm: 'SHA256', checksumValue: deb.sha256[image.arch] }],
        externalRefs: [
          {
            referenceCategory: 'PACKAGE-MANAGER',
            referenceType: 'purl',
            referenceLocator: `pkg:deb/debian/${encodeURIComponent(deb.name)}@${purlVersion(deb.version)}?arch=${image.debArch}&distro=debian-${DEBIAN.version}`,
          },
        ],
        sourceInfo: `Debian source package ${deb.source}`,
        licenseDeclared: 'NOASSERTION',
        comment: `only ${deb.files('<triplet>').length} path(s) of the package are in the image: ${deb.files(image.triplet).join(', ')}`,
      });
      relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: debId });
    }
  }
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${name}-${version}`,
    documentNamespace: `urn:edge-credential-provider:installer:${indexDigest}`,
    creationInfo: { created, creators: ['Tool: edge-credential-provider installer/build.mjs'] },
    documentDescribes: [rootId],
    packages,
    relationships,
  };
}
