import type { UserWorkspaceConfig } from 'vitest/config';
export declare function packageProject(
  configUrl: string,
  test?: UserWorkspaceConfig['test'],
): UserWorkspaceConfig;
