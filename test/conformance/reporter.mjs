// A node:test reporter: one JSON line per finished test (not suites): { file, name, ok, skipped }.
export default async function * reporter (source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue
    const data = event.data
    if (data.details?.type === 'suite') continue
    const name = data.name
    // A file that failed to load reports itself as one failed test named after its path.
    yield JSON.stringify({ file: data.file, name, nesting: data.nesting, ok: event.type === 'test:pass', skipped: data.skip !== undefined || data.todo !== undefined, error: event.type === 'test:fail' ? String(data.details?.error?.cause?.message ?? data.details?.error?.message ?? '').slice(0, 200) : undefined }) + '\n'
  }
}
