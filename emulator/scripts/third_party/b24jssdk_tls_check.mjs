// @bitrix24/b24jssdk against the emulator over HTTPS, unmodified: pointed at it only through its
// documented inputs (the webhook URL; the OAuth parameters with `clientEndpoint` ending in `/`)
// and NODE_EXTRA_CA_CERTS.
//
//   node b24jssdk_tls_check.mjs WEBHOOK_URL [OAUTH_JSON]
import { B24Hook, B24OAuth } from '@bitrix24/b24jssdk'

const [url, oauthJson] = process.argv.slice(2)
let passed = 0
let failed = 0
async function check(name, fn) {
  try {
    const detail = await fn()
    passed++
    console.log(`ok   ${name}: ${detail}`)
  } catch (e) {
    failed++
    console.log(`FAIL ${name}: ${e?.code ?? ''} ${e?.message ?? e}`)
  }
}
function ok(result) {
  if (!result.isSuccess) throw new Error(result.getErrorMessages().join('; '))
  return result.getData()
}

const hook = B24Hook.fromWebhookUrl(url)
await check('call (webhook)', async () => {
  const deal = ok(await hook.actions.v2.call.make({ method: 'crm.deal.get', params: { id: 1 } })).result
  return `crm.deal.get -> ID ${deal.ID}`
})
await check('fetchList (webhook)', async () => {
  const ids = []
  for await (const chunk of hook.actions.v2.fetchList.make({ method: 'crm.deal.list', params: { select: ['ID'] }, idKey: 'ID' })) {
    ids.push(...chunk.map((r) => Number(r.ID)))
  }
  if (new Set(ids).size !== ids.length) throw new Error('ids repeated')
  return `${ids.length} deals, each once`
})
await check('callList (webhook)', async () => {
  const rows = ok(await hook.actions.v2.callList.make({ method: 'crm.deal.list', params: { select: ['ID'] } }))
  return `${rows.length} deals through counted pages`
})
await check('batch (webhook)', async () => {
  const data = ok(await hook.actions.v2.batch.make({
    calls: { a: { method: 'crm.deal.add', params: { fields: { TITLE: 'b24jssdk batch' } } }, g: { method: 'crm.deal.get', params: { id: '$result[a]' } } },
    options: { isHaltOnError: true },
  }))
  const g = data.g?.getData?.()?.result ?? data.g
  if ((g?.TITLE ?? g?.result?.TITLE) !== 'b24jssdk batch') throw new Error(JSON.stringify(data).slice(0, 300))
  return 'add + get through $result[a]'
})

await check('lead/contact/company (webhook)', async () => {
  const out = []
  for (const [entity, fields] of [
    ['lead', { TITLE: 'b24jssdk lead', PHONE: [{ VALUE: '+79990003344', VALUE_TYPE: 'MOBILE' }] }],
    ['contact', { NAME: 'Js', SECOND_NAME: 'S', LAST_NAME: 'Dk' }],
    ['company', { TITLE: 'b24jssdk company' }],
  ]) {
    const id = ok(await hook.actions.v2.call.make({ method: `crm.${entity}.add`, params: { fields } })).result
    const got = ok(await hook.actions.v2.call.make({ method: `crm.${entity}.get`, params: { id } })).result
    if (String(got.ID) !== String(id)) throw new Error(JSON.stringify(got).slice(0, 300))
    if (fields.PHONE && got.PHONE?.[0]?.VALUE !== '+79990003344') throw new Error(JSON.stringify(got.PHONE))
    out.push(`${entity} ${id}`)
  }
  return out.join(', ')
})
await check('fetchList on leads (webhook)', async () => {
  const ids = []
  for await (const chunk of hook.actions.v2.fetchList.make({ method: 'crm.lead.list', params: { select: ['ID'] }, idKey: 'ID' })) {
    ids.push(...chunk.map((r) => Number(r.ID)))
  }
  if (new Set(ids).size !== ids.length) throw new Error('ids repeated')
  return `${ids.length} leads, each once`
})
await check('crm.item.* (webhook)', async () => {
  const added = ok(await hook.actions.v2.call.make({ method: 'crm.item.add', params: { entityTypeId: 1220, fields: { title: 'b24jssdk item' } } })).result.item
  const got = ok(await hook.actions.v2.call.make({ method: 'crm.item.get', params: { entityTypeId: 1220, id: added.id } })).result.item
  if (got.title !== 'b24jssdk item') throw new Error(JSON.stringify(got).slice(0, 300))
  return `crm.item.add/get on 1220 (item ${added.id})`
})
await check('callList on crm.item.list (webhook)', async () => {
  const rows = ok(await hook.actions.v2.callList.make({ method: 'crm.item.list', params: { entityTypeId: 1220, select: ['id'] }, idKey: 'id', customKeyForResult: 'items' }))
  const ids = rows.map((r) => Number(r.id))
  if (new Set(ids).size !== ids.length) throw new Error('ids repeated')
  // 70 seeded (sdk_tls.sh: --items 1220=70) and the one added above.
  if (ids.length !== 71) throw new Error(`${ids.length} items, expected 71`)
  return `${ids.length} items through counted pages, each once`
})

if (oauthJson) {
  const app = JSON.parse(oauthJson)
  const oauth = new B24OAuth(
    {
      applicationToken: '',
      userId: 1,
      memberId: app.member_id,
      accessToken: app.access_token,
      refreshToken: app.refresh_token,
      expires: Math.floor(Date.now() / 1000) + 3600,
      expiresIn: 3600,
      scope: 'crm',
      domain: app.domain,
      clientEndpoint: app.client_endpoint, // ends in `/`, as the SDK documents
      serverEndpoint: app.server_endpoint,
      status: 'L',
    },
    { clientId: app.client_id, clientSecret: app.client_secret },
  )
  await check('OAuth call, expiry and refresh', async () => {
    const first = ok(await oauth.actions.v2.call.make({ method: 'crm.deal.get', params: { id: 1 } })).result.ID
    const before = oauth.auth.getAuthData().access_token
    await new Promise((r) => setTimeout(r, (Number(app.ttl ?? 2) + 1) * 1000))
    const second = ok(await oauth.actions.v2.call.make({ method: 'crm.deal.get', params: { id: 1 } })).result.ID
    if (oauth.auth.getAuthData().access_token === before) throw new Error('the token was not refreshed')
    return `deal ${first}, then expired_token -> refresh -> deal ${second}`
  })
}

console.log(`b24jssdk: ${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
