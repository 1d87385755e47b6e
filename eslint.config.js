// ESLint flat config: neostandard (the project's style: no semicolons, space before function
// parentheses) with TypeScript support, plus typescript-eslint's type-aware rules for src/.
import neostandard from 'neostandard'
import tseslint from 'typescript-eslint'

export default [
  { ignores: ['dist/**', 'coverage/**', '.tmp/**', 'node_modules/**', 'test/conformance/upstream/**'] },
  ...neostandard({ ts: true }),
  ...tseslint.configs.recommendedTypeChecked.map((config) => ({ ...config, files: ['src/**/*.ts'] })),
  {
    files: ['src/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    }
  }
]
