/**
 * Quay (3.13 and later, quay.io) robot account federation:
 *
 *   GET https://<quay>/oauth2/federation/robot/token
 *       Authorization: Basic base64("<org>+<robot>:<workload token>")
 *   →   {"token": "<JWT, 1 hour>"}          401 {"error": "..."} when refused
 *
 * Docker: username the robot (`<org>+<robot>`), password the token. Quay matches the robot's
 * federation entries by issuer and subject exactly (and audiences, where the entry lists
 * them), and verifies RSA signatures only (the schema refuses ES256 on a Quay upstream).
 * The host is the rule's registry: Quay serves its API and its registry on one host.
 */
import type { VendorCredential } from './cache';
import { answerObject, errorObject, garbage, jwtExpiry, safeCode, stringField, vendorCall, vendorFailure } from './http';
import type { QuayUpstream } from './vendors';

const VENDOR = 'Quay';

/** Basic credentials, UTF-8 then base64 (a JWT and a robot name are ASCII, so btoa is enough). */
const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

export async function quayCredential(u: QuayUpstream, registry: string, workloadToken: string, fetchFn: typeof fetch): Promise<VendorCredential> {
  const base = (u.endpoint ?? `https://${registry}`).replace(/\/+$/, '');
  const answer = await vendorCall(
    VENDOR,
    new Request(`${base}/oauth2/federation/robot/token`, {
      method: 'GET',
      headers: { authorization: basic(u.robot, workloadToken), accept: 'application/json' },
    }),
    fetchFn,
  );
  if (answer.status !== 200) {
    const error = errorObject(answer.body).error;
    vendorFailure(
      VENDOR,
      answer,
      `check the federation entries of robot ${u.robot} (issuer = the edge's issuer, subject)`,
      typeof error === 'string' ? safeCode(error) : undefined,
    );
  }
  const token = stringField(VENDOR, answerObject(VENDOR, answer.body), 'token');
  // Quay's robot tokens are JWTs: their own exp is the lifetime.
  const expiresAt = jwtExpiry(token);
  if (expiresAt === undefined) garbage(VENDOR, 'token is not a JWT with exp');
  return { username: u.robot, password: token, expiresAt };
}
