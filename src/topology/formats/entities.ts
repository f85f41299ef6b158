const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Replaces `&name;`, `&#n;` and `&#xh;` (XML escapes, which GML borrows). `other` decides what
 * becomes of an ampersand that starts none of them: GML keeps it, strict XML rejects it.
 */
export function decodeEntities(text: string, other: (match: string) => string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+)?;?/gi, (match, name: string | undefined) => {
    if (name !== undefined && match.endsWith(';')) {
      if (!name.startsWith('#')) {
        if (name in NAMED) return NAMED[name]!;
      } else {
        const code = /x/i.test(name[1]!) ? parseInt(name.slice(2), 16) : Number(name.slice(1));
        if (code <= 0x10ffff) return String.fromCodePoint(code);
      }
    }
    return other(match);
  });
}
