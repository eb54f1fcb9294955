/**
 * Who a key belongs to (docs/tenancy.md). Its own module so that the role matrix
 * (`access.ts`) imports nothing that needs Node: the console runs the same matrix in the browser.
 */
export type KeyType = 'workspace' | 'organization' | 'system';
