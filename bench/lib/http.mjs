// One HTTP request with node:http, timed, never throwing: { status, text, ms }.
import http from 'node:http';

export function request(url, { method = 'POST', body, headers = {}, agent = false } = {}) {
  return new Promise((resolve) => {
    const t = process.hrtime.bigint();
    const h = { ...headers, ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}) };
    const req = http.request(url, { method, agent, headers: h }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, text, ms: Number(process.hrtime.bigint() - t) / 1e6 }));
    });
    req.on('error', (err) => resolve({ status: 0, text: err.message, ms: Number(process.hrtime.bigint() - t) / 1e6 }));
    req.end(body);
  });
}
