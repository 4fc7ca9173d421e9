# Stub libraries for the CUDA sonames that the PyPI torch wheel NEEDS (see setup-torch):
# each exports, under its symbol version, every symbol the torch libraries import from it.
import subprocess, sys, os, collections
L = sys.argv[1]; out = sys.argv[2]
missing = ["libcublas.so.13","libcublasLt.so.13","libcudnn.so.9","libcufft.so.12","libcufile.so.0","libcurand.so.10","libcusparse.so.12","libcusparseLt.so.0","libnccl.so.2","libnvrtc.so.13","libnvshmem_host.so.3","libcusolver.so.12","libnvJitLink.so.13"]
defined=set()
undef=collections.defaultdict(set)  # version -> syms
unver=set()
libs=[os.path.join(L,f) for f in os.listdir(L) if '.so' in f]
for f in libs:
    o=subprocess.run(["nm","-D","--defined-only",f],capture_output=True,text=True).stdout
    for line in o.splitlines():
        p=line.split()
        if len(p)>=3: defined.add(p[2].split('@')[0])
for f in libs:
    o=subprocess.run(["nm","-D","--undefined-only",f],capture_output=True,text=True).stdout
    for line in o.splitlines():
        s=line.split()[-1]
        if '@' in s:
            n,v=s.split('@',1); v=v.lstrip('@')
            if v.startswith(('GLIBC','GCC','CXXABI','GOMP','libcudart','libcupti')): continue
            undef[v].add(n)
        else:
            if s not in defined and __import__('re').match(r'(cu|nccl|nvrtc|nvshmem|nvJit|CU)',s): unver.add(s)
vermap={v:v for v in undef}
# version node -> soname
def soname(v):
    if v.startswith('lib'): return v
    return {'NVSHMEM':'libnvshmem_host.so.3'}.get(v, None)
bylib=collections.defaultdict(dict)
for v,syms in undef.items():
    so=soname(v)
    if so is None: print("unknown version",v,file=sys.stderr); continue
    bylib[so][v]=syms
os.makedirs(out,exist_ok=True)
for so in missing:
    vers=bylib.get(so,{})
    src=os.path.join(out,so+".c"); vs=os.path.join(out,so+".map")
    allsyms=set()
    with open(vs,"w") as m:
        for v,syms in vers.items():
            m.write(v+" { global: "+"".join(s+"; " for s in sorted(syms))+"};\n"); allsyms|=syms
        if not vers: m.write("STUB { global: *; };\n")
    extra = unver if so=="libcufft.so.12" else set()
    with open(src,"w") as c:
        for s in sorted(allsyms|extra):
            c.write("void %s(void){}\n"%s)
    args=["cc","-shared","-o",os.path.join(out,so),src,"-Wl,-soname,"+so,"-Wl,--version-script="+vs]
    subprocess.run(args,check=True)
print("unversioned", len(unver), file=sys.stderr)
