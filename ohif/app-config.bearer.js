/**
 * OHIF 3.13 configuration for Bearer mode: OHIF signs in itself (OIDC code flow + PKCE, public
 * client `ohif-viewer`) and sends `Authorization: Bearer <access token>` on every DICOMweb call
 * to the gateway's `/pacs/...`.
 *
 * Placeholder: `__OIDC_AUTHORITY__` must be replaced by the issuer URL exactly as in tokens' `iss`
 * (the gateway's OIDC_ISSUER, e.g. https://keycloak.example.org/realms/orthanc) before the file is
 * served as `/app-config.js`, e.g. by the docker entrypoint:
 *
 *   sed "s|__OIDC_AUTHORITY__|$OIDC_ISSUER|g" ohif/app-config.bearer.js > "$OHIF_DIST/app-config.js"
 *
 * Left unreplaced, the viewer stops at start with an error naming the placeholder.
 *
 * A patient portal (SMART Imaging Access, README "SMART on FHIR apps"): list ohif-viewer in the
 * gateway's SMART_CLIENTS, give it the optional client scope (npm run keycloak -- setup
 * --smart-clients ohif-viewer) and ask for it below:
 *
 *   var scope = 'openid profile email patient/ImagingStudy.rs';
 *
 * The viewer then lists and opens only the signed-in patient's studies.
 *
 * Fitted to the user: OHIF's Upload button is offered only when the gateway's GET /auth/me says
 * `canUpload` for the signed-in user (asked with OHIF's access token when the data source starts;
 * no answer, e.g. a viewer on another origin, where /auth/me has no CORS: no Upload).
 *
 * The DICOMweb roots assume OHIF is served from the gateway's origin. Served from elsewhere, put
 * the gateway's PUBLIC_URL in `gateway` below and that origin in the gateway's CORS_ORIGINS.
 * The identity provider must accept `<viewer origin>/callback` as a redirect URI and allow CORS
 * on its token endpoint for the viewer's origin.
 */
window.config = (function () {
  var authority = '__OIDC_AUTHORITY__';
  if (authority.indexOf('__') === 0) {
    throw new Error('app-config.js: replace __OIDC_AUTHORITY__ with the OIDC issuer URL (see the header of ohif/app-config.bearer.js)');
  }
  var gateway = window.location.origin;
  var scope = 'openid profile email';
  var clientId = 'ohif-viewer';

  // Whether the gateway lets the signed-in user upload. OHIF reads its data source's configuration
  // synchronously when the data source starts (onConfiguration), hence one synchronous request; the
  // token is the one OHIF's OIDC client keeps in sessionStorage. Any failure: no Upload button (the
  // gateway refuses a STOW from users who may not upload either way).
  function mayUpload() {
    try {
      var stored = JSON.parse(window.sessionStorage.getItem('oidc.user:' + authority + ':' + clientId) || 'null');
      if (!stored || !stored.access_token) return false;
      var request = new XMLHttpRequest();
      request.open('GET', gateway + '/auth/me', false);
      request.setRequestHeader('Authorization', 'Bearer ' + stored.access_token);
      request.setRequestHeader('Accept', 'application/json');
      request.send();
      return request.status === 200 && JSON.parse(request.responseText).canUpload === true;
    } catch (error) {
      return false;
    }
  }

  // OHIF's Logout (menu, or another tab signing out) routes to `/logout?redirect_uri=<the current
  // page>` and asks the IdP to send the browser back there; the IdP accepts only registered
  // addresses (`<viewer origin>/`), so a sign-out from the viewer page would stop at the IdP. Every
  // sign-out returns to the start instead: the route's return address is rewritten as OHIF's
  // router enters it.
  function returningToStart(url) {
    if (url === undefined || url === null) return url;
    var target = new URL(String(url), window.location.href);
    if (target.pathname !== '/logout') return url;
    target.search = '?redirect_uri=' + encodeURIComponent(window.location.origin + '/');
    return target.href;
  }
  ['pushState', 'replaceState'].forEach(function (method) {
    var original = window.history[method];
    window.history[method] = function (state, unused, url) {
      return original.call(this, state, unused, returningToStart(url));
    };
  });

  return {
    name: 'orthanc-oidc-gateway (bearer)',
    routerBasename: '/',
    extensions: [],
    modes: [],
    customizationService: {},
    showStudyList: true,
    investigationalUseDialog: { option: 'never' },
    maxNumberOfWebWorkers: 3,
    showWarningMessageForCrossOrigin: false,
    showCPUFallbackMessage: true,
    showLoadingIndicator: true,
    strictZSpacingForVolumeViewport: true,
    maxNumRequests: { interaction: 100, thumbnail: 5, prefetch: 25 },
    showErrorDetails: 'dev',
    oidc: [
      {
        authority: authority,
        client_id: clientId,
        redirect_uri: '/callback',
        response_type: 'code',
        scope: scope,
        post_logout_redirect_uri: '/',
        // OHIF's default, spelled out: Logout first revokes the access and refresh tokens at the
        // IdP's revocation endpoint (cross-origin: the client's web origins allow it), then ends
        // the IdP session. Its OIDC client (oidc-client-ts) stops the sign-out on a revocation
        // answer it does not accept: Keycloak answers 200 with no Content-Type (as does the dev IdP).
        revokeAccessTokenOnSignout: true,
      },
    ],
    defaultDataSourceName: 'orthanc',
    dataSources: [
      {
        namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
        sourceName: 'orthanc',
        configuration: {
          friendlyName: 'Orthanc through orthanc-oidc-gateway',
          name: 'orthanc',
          qidoRoot: gateway + '/pacs/dicom-web',
          wadoRoot: gateway + '/pacs/dicom-web',
          wadoUriRoot: gateway + '/pacs/wado',
          qidoSupportsIncludeField: false,
          imageRendering: 'wadors',
          thumbnailRendering: 'wadors',
          enableStudyLazyLoad: true,
          supportsFuzzyMatching: false,
          supportsWildcard: true,
          staticWado: false,
          singlepart: 'bulkdata,video',
          bulkDataURI: { enabled: true },
          dicomUploadEnabled: false, // set per user by onConfiguration
          omitQuotationForMultipartRequest: true,
          onConfiguration: function (configuration) {
            return Object.assign({}, configuration, { dicomUploadEnabled: mayUpload() });
          },
        },
      },
    ],
  };
})();
