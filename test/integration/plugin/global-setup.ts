/**
 * Builds the exec plugin once before the node project runs, so `npm test` works from a
 * clean clone: the plugin tests execute plugin/dist/edge-credential-provider as the kubelet
 * would.
 */
import { buildPlugin } from '../../../plugin/build.mjs';

export default async function setup(): Promise<void> {
  await buildPlugin();
}
