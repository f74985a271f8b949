// What the CLIs' code (scripts/ and the src/ it loads) uses that Node 18 lacks, for the bundled
// CLI (scripts/ecp.mjs loads this before any CLI): the bundle promises Node >= 18, the checkout
// runs on the pinned Node 24. Each is defined only where missing, with the standard's meaning.

// URL.parse (Node 22.1, 20.18): the URL, or null where `new URL` would throw.
if (typeof URL.parse !== 'function') {
  URL.parse = (url, base) => {
    try {
      return new URL(url, base);
    } catch {
      return null;
    }
  };
}

// String.prototype.isWellFormed (Node 20): no lone surrogate. In a `u` regular expression a
// surrogate pair is one code point, so only a lone surrogate is of the category Cs.
if (typeof String.prototype.isWellFormed !== 'function') {
  Object.defineProperty(String.prototype, 'isWellFormed', {
    value: function isWellFormed() {
      return !/\p{Cs}/u.test(String(this));
    },
    writable: true,
    configurable: true,
  });
}
