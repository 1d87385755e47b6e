import tls from 'node:tls'
try { tls.createSecureContext({ secureProtocol: 'TLSv1_method', minVersion: 'TLSv1.2' }); console.log('ok') } catch (e: any) { console.log(e.code, e.message) }
try { tls.createSecureContext({ secureProtocol: 'TLS_method', minVersion: 'TLSv1.2' }); console.log('ok') } catch (e: any) { console.log(e.code, e.message) }
