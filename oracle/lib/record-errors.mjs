// Lexicon validation errors of records, read from either server's wording.

/**
 * Where a record failed lexicon validation, from either wording, as a dotted path inside the
 * record (`text`, `langs.0`, `embed.images.0.alt`; '' for the record itself). The messages'
 * prose is not compared (see normalise.mjs), but the field they blame is:
 *   reference 0.5.35: `Invalid app.bsky.feed.post record: Expected … at $.record.text`
 *                     (in applyWrites `$.writes[1].value.text`)
 *   relay:            `Invalid app.bsky.feed.post record: Record/text must be a string`
 */
export function invalidRecordAt(message) {
  if (typeof message !== 'string' || !/^Invalid \S+ record: /.test(message)) return undefined
  const dotted = (p) => p.replace(/\[(\d+)\]/g, '.$1').replace(/^\./, '')
  const ref = message.match(/ at \$((?:\.writes\[\d+\])?\.(?:record|value))([^\s]*)$/)
  if (ref) return dotted(ref[2])
  const ours = message.match(/: Record((?:\/[^\s]+)?) (has (mimeType|size) )?/)
  // Our blob constraint errors name the blob and say which property in prose
  // (`Record/avatar has mimeType text/plain but must match …`): the reference blames `avatar.mimeType`.
  if (ours) return [...ours[1].replace(/^\//, '').split('/'), ...(ours[3] ? [ours[3]] : [])].filter(Boolean).join('.')
  return '<unparsed>'
}
