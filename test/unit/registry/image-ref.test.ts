import { describe, expect, it } from 'vitest';
import { parseImageRef } from '../../../src/registry/image-ref';

const digest = `sha256:${'a'.repeat(64)}`;

describe('parseImageRef', () => {
  it.each([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['team/app', { registry: 'docker.io', repository: 'team/app' }],
    ['index.docker.io/library/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['ghcr.io/org/app:v1', { registry: 'ghcr.io', repository: 'org/app', tag: 'v1' }],
    ['127.0.0.1:5000/team-a/app:v1', { registry: '127.0.0.1:5000', repository: 'team-a/app', tag: 'v1' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['localhost:5000/app', { registry: 'localhost:5000', repository: 'app' }],
    ['[::1]:5000/app', { registry: '[::1]:5000', repository: 'app' }],
    [`reg.example/a/b/c@${digest}`, { registry: 'reg.example', repository: 'a/b/c', digest }],
    [`reg.example/a:v1@${digest}`, { registry: 'reg.example', repository: 'a', tag: 'v1', digest }],
    ['reg.example:443/my_app.x/a__b/c-d', { registry: 'reg.example:443', repository: 'my_app.x/a__b/c-d' }],
    // distribution's limit: 255 characters of repository path, the host not counted, `library/` counted
    [`reg.example/${'a'.repeat(255)}`, { registry: 'reg.example', repository: 'a'.repeat(255) }],
    [`${'a'.repeat(247)}:v1`, { registry: 'docker.io', repository: `library/${'a'.repeat(247)}`, tag: 'v1' }],
  ])('parses %s', (input, expected) => {
    expect(parseImageRef(input)).toEqual(expected);
  });

  it.each([
    [''],
    ['UPPER/app'],
    ['reg.example/App'],
    ['reg.example/app:'],
    ['reg.example/app:-bad'],
    ['reg.example/app@sha256:short'],
    ['reg.example//app'],
    ['reg.example/app/'],
    ['reg.example/-app'],
    ['reg .example/app'],
    ['reg.example/a..b'],
    ['reg.example/app:' + 't'.repeat(129)],
    ['reg.example/' + 'a'.repeat(256)],
    [`reg.example/${'a/'.repeat(127)}ab`],
    ['a'.repeat(248)],
    ['x'.repeat(5000)],
  ])('rejects %s with ERR_BAD_IMAGE', (input) => {
    expect(() => parseImageRef(input)).toThrowError(expect.objectContaining({ code: 'ERR_BAD_IMAGE', status: 400 }));
  });
});
