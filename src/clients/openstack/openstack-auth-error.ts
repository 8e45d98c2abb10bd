import { OpenStackRequestError } from './openstack-request-error.js';

/** Keystone refused the credentials, or an OpenStack service refused the token (401) or the action (403). */
export class OpenStackAuthError extends OpenStackRequestError {
  override readonly name: string = 'OpenStackAuthError';
}
