import { execFile } from 'node:child_process'

/** The CLI's entry point, run from source with the project's Node. */
export const CLI_MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname

export interface CliRun { code: number, stdout: string, stderr: string }

/**
 * Runs the CLI as a process (`node src/cli/main.ts ...args`) and resolves with its exit code and
 * output; never rejects. `env` is added to `base` (the test's own environment unless given).
 */
export async function runCli (args: string[], env: NodeJS.ProcessEnv = {}, base: NodeJS.ProcessEnv = process.env): Promise<CliRun> {
  return await new Promise((resolve) => {
    execFile(process.execPath, [CLI_MAIN, ...args], { env: { ...base, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number((error as { code?: number }).code), stdout, stderr })
    })
  })
}
