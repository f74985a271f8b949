// A loopback GitHub Container Registry token endpoint, for the `static` upstream: the registry's
// documented token flow (distribution token auth) with a personal access token as the password.
//
//   GET /token?service=ghcr.io&scope=repository:<owner>/<repo>:pull
//       Authorization: Basic base64("<user>:<PAT>")
//   200 {"token"}       401 {"errors": [{"code": "UNAUTHORIZED", "message"}]}
//
// state.users: username → PAT. There is nothing to federate: the PAT is the credential.
import { randomBytes } from 'node:crypto';
import { sendJson, startServer } from './server.mjs';

/** @param {{ users?: Record<string, string> }} [opts] */
export async function startGhcr(opts = {}) {
  const state = { users: opts.users ?? {}, calls: 0, accepted: [], refused: 0 };

  function answer(req, _body, res) {
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://x').pathname !== '/token') return sendJson(res, 404, { errors: [{ code: 'NOT_FOUND' }] });
    state.calls++;
    const m = /^Basic (\S+)$/.exec(String(req.headers.authorization ?? ''));
    const [user, pat] = m ? Buffer.from(m[1], 'base64').toString('utf8').split(/:(.*)/s) : [];
    if (!user || state.users[user] === undefined || state.users[user] !== pat) {
      state.refused++;
      return sendJson(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
    }
    state.accepted.push({ user, scope: new URL(req.url ?? '/', 'http://x').searchParams.get('scope') });
    return sendJson(res, 200, { token: randomBytes(24).toString('base64url') });
  }

  const server = await startServer(answer);
  return { url: server.url, state, stop: server.stop };
}
