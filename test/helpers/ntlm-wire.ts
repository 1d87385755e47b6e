/** Reading NTLM messages in tests: a security buffer's bytes and the AV pairs of a target info or NTLMv2 blob. */

/** The bytes a (length, max length, offset) field at `at` points to. */
export function fieldOf (message: Buffer, at: number): Buffer {
  const length = message.readUInt16LE(at)
  return message.subarray(message.readUInt32LE(at + 4), message.readUInt32LE(at + 4) + length)
}

/** AV pairs by id, up to MsvAvEOL. */
export function pairsOf (info: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>()
  for (let at = 0; at + 4 <= info.length;) {
    const id = info.readUInt16LE(at)
    const length = info.readUInt16LE(at + 2)
    out.set(id, info.subarray(at + 4, at + 4 + length))
    at += 4 + length
    if (id === 0) break
  }
  return out
}
