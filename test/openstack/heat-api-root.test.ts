import { expect } from 'chai';
import { apiRoot } from '../../src/clients/openstack/heat-client.js';

describe('Heat client: the API root from the catalog’s orchestration URL', () => {
  it('drops the token’s project Keystone put after /v1, whatever the path before it', () => {
    expect(apiRoot('http://heat.example:8004/v1/0c9b6a1e2b8a4b6f9a0c9b6a1e2b8a4b')).to.equal(
      'http://heat.example:8004/v1',
    );
    expect(apiRoot('https://cloud.example/orchestration/v1/abc/')).to.equal(
      'https://cloud.example/orchestration/v1',
    );
  });

  it('keeps a URL that already ends at /v1, and adds /v1 to a bare host', () => {
    expect(apiRoot('http://heat.example:8004/v1/')).to.equal('http://heat.example:8004/v1');
    expect(apiRoot('http://heat.example:8004')).to.equal('http://heat.example:8004/v1');
  });
});
