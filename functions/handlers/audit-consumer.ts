// Placeholder until the operation lands: answers 501 so nothing pretends to work.
export const handler = async () => ({ statusCode: 501, body: JSON.stringify({ error: { code: 'not_implemented', message: 'Not implemented yet', details: [] } }) });
